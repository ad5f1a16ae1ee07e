"""MkDocs hooks: generate the rule, topic, reference, case and schema pages from guidelines/ at build time.

Thin on purpose: engine.site_inputs gathers the problems, rules and cases' outcomes (reusing what
`guideline test` saved when it may), engine.site renders.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import AnchorLink

from engine.reading import collector_paused
from engine.repository import find_root
from engine.site import Site, render_site
from engine.site_html import fill, fill_late
from engine.site_inputs import gather

# Under "mkdocs." so that `--strict` counts our warnings like its own.
log = logging.getLogger("mkdocs.hooks.guideline")

#: The pages of the build in progress, keyed by config file. MkDocs calls hooks as
#: plain functions with no object to keep them on; `on_config` resets the entry each build.
_BUILDS: dict[str, tuple[Path, Site]] = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    root = find_root(Path(config.config_file_path).parent)
    gc.unfreeze()  # a previous build's objects (`mkdocs serve`) may be collected again
    with collector_paused():
        site = _site(root, config)
    # The repository, outcomes and pages live until the build ends: frozen, the collector no longer
    # walks them each time MkDocs' pages make it run (a tenth of the build at 5,000 rules).
    gc.freeze()
    _BUILDS[config.config_file_path] = (root, site)
    config.nav = site.nav
    # `mkdocs serve` rebuilds when editors change rules, cases or schemas.
    config.watch.extend(str(root / d) for d in ("guidelines", "schema", "tests/cases") if (root / d).is_dir())
    return config


def _site(root: Path, config: MkDocsConfig) -> Site:
    # The same problems as `guideline validate`: an error is a warning here, so a strict build
    # (`guideline site build`) refuses to publish a repository that does not validate.
    inputs = gather(root)
    for problem in inputs.problems:
        (log.warning if problem.severity == "error" else log.info)("%s", problem)
    log.info("%s", inputs.source)
    for failed in (o for o in inputs.outcomes.cases if o.error is not None):
        log.warning("%s: the engine could not evaluate this case: %s", failed.case.path or failed.case.id,
                    failed.error)
    schema_names = sorted(p.name for p in (root / "schema").glob("*.json"))
    site = render_site(inputs.guidelines, inputs.outcomes, schema_names)
    if not config.use_directory_urls:  # generated HTML links to pages as folders
        log.warning("site/mkdocs.yml: use_directory_urls must stay true: generated pages link to folders")
    for broken in site.broken_links():
        log.warning("%s", broken)
    return site


def on_files(files: Files, config: MkDocsConfig) -> Files:
    root, site = _BUILDS[config.config_file_path]
    for file in list(files):
        if file.is_documentation_page():
            file.edit_uri = f"site/docs/{file.src_uri}"  # the hand-written page's place in the repository
    for path, content in site.pages.items():
        generated = File.generated(config, path, content=content)
        generated.edit_uri = site.edit_paths.get(path)
        if path in site.not_in_nav:  # reached by links; a menu entry each would make every page big
            generated.inclusion = InclusionLevel.NOT_IN_NAV
        files.append(generated)
    for schema in sorted((root / "schema").glob("*.json")):
        files.append(File.generated(config, f"schema/{schema.name}", content=schema.read_bytes()))
    return files


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    # Markdown has run: the generated HTML blocks take the places held for them (engine/site_html.py),
    # before the search index reads the page.
    _, site = _BUILDS[config.config_file_path]
    sections = site.contents.get(page.file.src_uri, ())
    if sections and page.toc.items:  # under the page's title, as Markdown headings would be
        page.toc.items[0].children.extend(AnchorLink(title, anchor, 2) for title, anchor in sections)
    return fill(html, site.raw.get(page.file.src_uri, ()))


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    # The blocks the search index must not read (a rule page's worked examples) go in last.
    _, site = _BUILDS[config.config_file_path]
    return fill_late(output, site.raw.get(page.file.src_uri, ()))
