# SPDX-License-Identifier: Apache-2.0
"""The movielens benches read MovieLens (`bench/movielens_data.py`) in its three layouts to the same ratings, in file
order (the seeded split depends on it), and the same genres: ml-latest's CSV files, GroupLens'
ml-100k (`u.data`, `u.item`, `u.genre`) and RecBole's atomic files of ml-100k."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.movielens_data import load

RATINGS = [("196", "242", 3, 881250949), ("186", "302", 3, 891717742), ("196", "1", 5, 881250950)]
MOVIES = [("1", "Toy Story", "1995", ["Animation", "Children's", "Comedy"]), ("242", "Kolya", "1996", ["Comedy"])]
MOVIES += [("302", "L.A. Confidential", "1997", ["Crime", "Film-Noir", "Mystery", "Thriller"])]
GENRES = ["unknown", "Action", "Animation", "Children's", "Comedy", "Crime", "Film-Noir", "Mystery", "Thriller"]


def latest(folder: Path) -> Path:
    folder.mkdir()
    rows = "".join(f"{u},{i},{r},{t}\n" for u, i, r, t in RATINGS)
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + rows)
    movies = "".join(f'{i},"{title} ({year})",{"|".join(g)}\n' for i, title, year, g in MOVIES)
    (folder / "movies.csv").write_text("movieId,title,genres\n" + movies)
    return folder


def grouplens(folder: Path) -> Path:
    folder.mkdir()
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in RATINGS))
    (folder / "u.genre").write_text("".join(f"{g}|{n}\n" for n, g in enumerate(GENRES)) + "\n")
    lines = [
        "|".join([i, f"{title} ({year})", f"01-Jan-{year}", "", "http://x", *("1" if g in gs else "0" for g in GENRES)])
        for i, title, year, gs in MOVIES
    ]
    (folder / "u.item").write_text("\n".join(lines) + "\n", encoding="latin-1")
    return folder


def recbole(folder: Path) -> Path:
    folder.mkdir()
    head = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    (folder / "ml-100k.inter").write_text(head + "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in RATINGS))
    head = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    rows = "".join(f"{i}\t{title}\t{year}\t{' '.join(g)}\n" for i, title, year, g in MOVIES)
    (folder / "ml-100k.item").write_text(head + rows)
    return folder


def test_the_three_layouts_give_the_same_ratings_in_file_order_and_the_same_genres(tmp_path: Path) -> None:
    for make in (latest, grouplens, recbole):
        inter, items = load(make(tmp_path / make.__name__))
        assert list(inter.users) == [u for u, _, _, _ in RATINGS], make.__name__
        assert list(inter.items) == [i for _, i, _, _ in RATINGS], make.__name__
        assert inter.ratings is not None and inter.timestamps is not None
        assert np.array_equal(inter.ratings, [r for _, _, r, _ in RATINGS]), make.__name__
        assert np.array_equal(inter.timestamps, [t for _, _, _, t in RATINGS]), make.__name__
        assert np.array_equal(inter.weights, np.ones(len(RATINGS))), make.__name__
        assert {str(m["item_id"]): m["categories"] for m in items} == {i: g for i, _, _, g in MOVIES}, make.__name__
