"""Cycles of sources: rules that would send one SKU round in a loop (A gives to B by one rule, B
gives back to A by the same or another rule, or a longer ring). Such a set of rules moves stock
to and fro for nothing but transport cost, so a rule that closes a cycle is refused at save."""

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Cycle:
    """``sites[i]`` gives to ``sites[i + 1]`` (the last to the first) by rule ``rules[i]``."""

    sku: str
    sites: tuple[str, ...]
    rules: tuple[str, ...]

    def path(self) -> str:
        return " → ".join((*self.sites, self.sites[0]))


def edges(needs: pl.DataFrame, offers: pl.DataFrame) -> pl.DataFrame:
    """sku, source, target, rule: one edge per rule from every site it offers from to every site
    it needs stock at, for the same SKU (the first rule in name order when several give one)."""
    pairs = offers.select("rule", "sku", source="site").unique().join(
        needs.select("rule", "sku", target="site").unique(), on=["rule", "sku"])
    return (pairs.filter(pl.col("source") != pl.col("target"))
            .group_by("sku", "source", "target").agg(pl.col("rule").min())
            .sort("sku", "source", "target"))


def _trimmed(graph: pl.DataFrame) -> pl.DataFrame:
    """Only edges between sites that both give and take: a site without either is on no cycle.
    Repeated until nothing changes, so what is left is small even for a large network."""
    while True:
        givers = graph.select("sku", site="source").unique()
        takers = graph.select("sku", site="target").unique()
        both = givers.join(takers, on=["sku", "site"])
        kept = (graph.join(both, left_on=["sku", "source"], right_on=["sku", "site"], how="semi")
                .join(both, left_on=["sku", "target"], right_on=["sku", "site"], how="semi"))
        if kept.height == graph.height:
            return kept
        graph = kept


def _cycle_in(sku: str, links: dict[str, list[tuple[str, str]]]) -> Cycle | None:
    """One cycle of a directed graph (site → [(next site, rule)]) by depth-first search."""
    done: set[str] = set()
    for start in sorted(links):
        if start in done:
            continue
        path: list[tuple[str, str]] = []  # (site, rule of the edge leaving it)
        on_path: dict[str, int] = {}
        stack = [(start, iter(links.get(start, [])))]
        on_path[start] = 0
        while stack:
            site, following = stack[-1]
            step = next(following, None)
            if step is None:
                stack.pop()
                done.add(site)
                del on_path[site]
                if path:
                    path.pop()
                continue
            nxt, rule = step
            if nxt in on_path:
                ring = [*path[on_path[nxt]:], (site, rule)]
                return Cycle(sku, tuple(s for s, _ in ring), tuple(r for _, r in ring))
            if nxt not in done:
                path.append((site, rule))
                on_path[nxt] = len(path)
                stack.append((nxt, iter(links.get(nxt, []))))
    return None


def find_cycle(needs: pl.DataFrame, offers: pl.DataFrame) -> Cycle | None:
    """A cycle of sources among the needs and offers of ``rules.evaluate`` (columns rule, sku,
    site), the first by SKU, or None."""
    graph = _trimmed(edges(needs, offers))
    for (sku,), group in graph.group_by("sku", maintain_order=True):
        links: dict[str, list[tuple[str, str]]] = {}
        for _sku, source, target, rule in group.iter_rows():
            links.setdefault(source, []).append((target, rule))
        found = _cycle_in(str(sku), links)
        if found is not None:
            return found
    return None
