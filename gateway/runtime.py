"""Everything built from one configuration; replaced as a whole on reload."""
from __future__ import annotations

from dataclasses import dataclass

from .blocks import Renderer
from .caches import CountingCache
from .catalog import Catalog
from .config import Config
from .metrics import Metrics
from .segments import Segment


@dataclass
class Runtime:
    config: Config
    catalog: Catalog
    renderer: Renderer
    block_cache: CountingCache

    @property
    def segments(self) -> dict[str, Segment]:
        return self.config.segments


def build_runtime(config: Config, metrics: Metrics) -> Runtime:
    cache = config.cache
    catalog = Catalog.load(config.catalog_path, cache.catalog_size)
    return Runtime(config, catalog, Renderer(config.gateway.templates_dir),
                   CountingCache("blocks", cache.blocks_size, cache.blocks_ttl, metrics))
