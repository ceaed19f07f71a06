"""Tests of scripts/ansi-svg. Run: python3 -m unittest discover -s scripts"""

import os
import unittest
import xml.etree.ElementTree as ET
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

HERE = os.path.dirname(os.path.abspath(__file__))
_loader = SourceFileLoader("ansi_svg", os.path.join(HERE, "ansi-svg"))
ansi_svg = module_from_spec(spec_from_loader("ansi_svg", _loader))
_loader.exec_module(ansi_svg)

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(capture, **kw):
    cols, rows = kw.pop("cols", None), kw.pop("rows", None)
    return ET.fromstring(ansi_svg.render(ansi_svg.parse(capture, cols, rows), **kw))


def texts(root):
    return [t for t in root.iter(SVG + "text") if t.text and t.get("text-anchor") is None]


class Palette(unittest.TestCase):
    def test_the_xterm_256_palette(self):
        self.assertEqual(ansi_svg.xterm_256(1), (0xCD, 0, 0))
        self.assertEqual(ansi_svg.xterm_256(16), (0, 0, 0))
        self.assertEqual(ansi_svg.xterm_256(114), (0x87, 0xD7, 0x87))
        self.assertEqual(ansi_svg.xterm_256(203), (0xFF, 0x5F, 0x5F))
        self.assertEqual(ansi_svg.xterm_256(231), (0xFF, 0xFF, 0xFF))
        self.assertEqual(ansi_svg.xterm_256(232), (8, 8, 8))
        self.assertEqual(ansi_svg.xterm_256(255), (0xEE, 0xEE, 0xEE))


class Sgr(unittest.TestCase):
    def sgr(self, text, style=ansi_svg.PLAIN):
        return ansi_svg.apply_sgr(style, text)

    def test_16_colours_and_bright(self):
        self.assertEqual(self.sgr("31").fg, (0xCD, 0, 0))
        self.assertEqual(self.sgr("94").fg, (0x5C, 0x5C, 0xFF))
        self.assertEqual(self.sgr("42").bg, (0, 0xCD, 0))
        self.assertEqual(self.sgr("107").bg, (0xFF, 0xFF, 0xFF))

    def test_256_and_true_colour_with_semicolons_or_colons(self):
        self.assertEqual(self.sgr("38;5;203").fg, (0xFF, 0x5F, 0x5F))
        self.assertEqual(self.sgr("48;5;160").bg, (0xD7, 0, 0))
        self.assertEqual(self.sgr("38;2;1;2;3").fg, (1, 2, 3))
        self.assertEqual(self.sgr("38:2::1:2:3").fg, (1, 2, 3))
        both = self.sgr("1;38;5;80;48;2;10;20;30;4")
        self.assertEqual((both.fg, both.bg, both.bold, both.underline), ((0x5F, 0xD7, 0xD7), (10, 20, 30), True, True))

    def test_attributes_and_their_resets(self):
        s = self.sgr("1;2;3;4;7;9")
        self.assertTrue(all((s.bold, s.dim, s.italic, s.underline, s.reverse, s.strike)))
        s = self.sgr("22;23;24;27;29", s)
        self.assertFalse(any((s.bold, s.dim, s.italic, s.underline, s.reverse, s.strike)))
        self.assertEqual(self.sgr("", self.sgr("1;31")), ansi_svg.PLAIN)
        self.assertEqual(self.sgr("0", self.sgr("1;31")), ansi_svg.PLAIN)
        self.assertIsNone(self.sgr("39", self.sgr("31")).fg)
        self.assertIsNone(self.sgr("49", self.sgr("41")).bg)

    def test_an_underline_colour_changes_nothing_else(self):
        self.assertEqual(self.sgr("58;5;3;1"), ansi_svg.PLAIN.__class__(bold=True))


class Grid(unittest.TestCase):
    def test_the_grid_is_cols_by_rows_and_styles_carry_over_lines(self):
        grid = ansi_svg.parse("\x1b[31mab\ncd\x1b[0m\n", cols=5, rows=3)
        self.assertEqual((len(grid), len(grid[0])), (3, 5))
        self.assertEqual(grid[1][0].style.fg, (0xCD, 0, 0))
        self.assertEqual(grid[2][0].text, " ")

    def test_a_wide_character_takes_two_cells(self):
        grid = ansi_svg.parse("a漢b", cols=5, rows=1)
        self.assertEqual([c.text for c in grid[0]], ["a", "漢", "", "b", " "])
        self.assertTrue(grid[0][2].continuation)

    def test_a_combining_mark_joins_its_character(self):
        grid = ansi_svg.parse("e\u0301x", cols=3, rows=1)
        self.assertEqual([c.text for c in grid[0]], ["e\u0301", "x", " "])

    def test_other_escapes_are_dropped(self):
        grid = ansi_svg.parse("\x1b]8;;http://x\x1b\\a\x1b(Bb\x1b[?25lc", cols=3, rows=1)
        self.assertEqual("".join(c.text for c in grid[0]), "abc")


class Render(unittest.TestCase):
    def test_text_is_escaped_and_spaces_kept(self):
        root = svg_of("<a & b> \"c\"")
        [text] = texts(root)
        self.assertEqual(text.text, "<a & b> \"c\"")
        group = next(root.iter(SVG + "g"))
        self.assertEqual(group.get("{http://www.w3.org/XML/1998/namespace}space"), "preserve")

    def test_one_text_per_run_of_a_style(self):
        root = svg_of("\x1b[38;5;114mok ok\x1b[1mbold\x1b[0m plain")
        runs = [(t.text, t.get("fill"), t.get("font-weight")) for t in texts(root)]
        self.assertEqual(runs, [("ok ok", "#87d787", None), ("bold", "#87d787", "bold"), ("plain", None, None)])

    def test_a_column_gap_or_a_symbol_starts_a_new_text_on_the_grid(self):
        root = svg_of("name  age ✔ ok")
        runs = [(t.text, float(t.get("x"))) for t in texts(root)]
        x = lambda col: ansi_svg.PAD + col * ansi_svg.CELL_W
        for (text, at), (want, col) in zip(runs, [("name", 0), ("age", 6), ("✔", 10), ("ok", 12)]):
            self.assertEqual(text, want)
            self.assertAlmostEqual(at, x(col))
        self.assertEqual(len(runs), 4)

    def test_runs_sit_on_the_grid(self):
        root = svg_of("ab\x1b[31mcd")
        a, c = texts(root)
        step = float(c.get("x")) - float(a.get("x"))
        self.assertAlmostEqual(step, 2 * ansi_svg.CELL_W)
        self.assertAlmostEqual(float(a.get("textLength")), 2 * ansi_svg.CELL_W)

    def test_a_background_run_is_one_rect_and_joins_rows(self):
        root = svg_of("\x1b[48;5;160m    \x1b[49m\n\x1b[48;5;160m    \x1b[49m", cols=6)
        cells = [r for r in root.iter(SVG + "rect") if r.get("fill") == "#d70000"]
        self.assertEqual(len(cells), 1)
        self.assertAlmostEqual(float(cells[0].get("width")), 4 * ansi_svg.CELL_W)
        self.assertAlmostEqual(float(cells[0].get("height")), 2 * ansi_svg.CELL_H)

    def test_reverse_video_swaps_the_default_colours(self):
        root = svg_of("\x1b[7mX\x1b[27m")
        dark = ansi_svg.DEFAULTS["dark"]
        rects = [r.get("fill") for r in root.iter(SVG + "rect")]
        self.assertIn(ansi_svg.hex_colour(dark["fg"]), rects)
        [text] = texts(root)
        self.assertEqual(text.get("fill"), ansi_svg.hex_colour(dark["bg"]))

    def test_light_background(self):
        root = svg_of("x", background="light")
        fills = [r.get("fill") for r in root.iter(SVG + "rect")]
        self.assertIn("#ffffff", fills)

    def test_a_wide_character_is_drawn_alone_two_cells_wide(self):
        root = svg_of("a漢b")
        runs = [(t.text, t.get("textLength")) for t in texts(root)]
        self.assertEqual(runs[1], ("漢", ansi_svg._num(2 * ansi_svg.CELL_W)))
        self.assertAlmostEqual(float(texts(root)[2].get("x")) - float(texts(root)[0].get("x")), 3 * ansi_svg.CELL_W)

    def test_box_lines_are_paths_that_join(self):
        root = svg_of("┌──┐\n│  │\n└──┘")
        self.assertEqual(texts(root), [])
        [path] = list(root.iter(SVG + "path"))
        d = path.get("d")
        # The top edge: one line from the first corner's centre to the last's.
        x0, y0, w = ansi_svg.PAD, ansi_svg.TITLE_BAR + ansi_svg.PAD / 2, ansi_svg.CELL_W
        num = ansi_svg._num
        self.assertIn("M%s %sH%s" % (num(x0 + w / 2), num(y0 + ansi_svg.CELL_H / 2), num(x0 + 3.5 * w)), d)
        self.assertEqual(d.count("V"), 2)  # each side one line down three rows

    def test_block_elements_are_rects(self):
        root = svg_of("\x1b[32m██▄\x1b[0m")
        blocks = [r for r in root.iter(SVG + "rect") if r.get("fill") == "#00cd00"]
        self.assertEqual(len(blocks), 2)
        self.assertAlmostEqual(float(blocks[0].get("width")), 2 * ansi_svg.CELL_W)
        self.assertAlmostEqual(float(blocks[1].get("height")), ansi_svg.CELL_H / 2)

    def test_the_image_is_the_grid_and_a_frame(self):
        root = svg_of("x", cols=80, rows=24, title="t & u")
        self.assertAlmostEqual(float(root.get("width")), 80 * ansi_svg.CELL_W + 2 * ansi_svg.PAD)
        titles = [t.text for t in root.iter(SVG + "text") if t.get("text-anchor")]
        self.assertEqual(titles, ["t & u"])


if __name__ == "__main__":
    unittest.main()
