#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""md2man.py: converts a man page's Markdown source (docs/man/*.md) to roff.

Usage: md2man.py SOURCE.md OUT.N [VERSION]

Handles the subset docs/man/ uses, and fails (exit 1, naming the line) on
anything else it cannot place, so that a new construct is noticed at build
time rather than rendered wrongly:

  # name(N)                 the title (.TH)
  ## SECTION, ### Sub       .SH, .SS
  paragraphs                .PP, text filled by roff
  ``` fences and 4-space indented blocks (outside lists)   .nf/.fi, verbatim
  `term` lines followed by ":   definition" (or ": definition"), with
  indented continuation lines                              .TP
  "- item" and "1. item" lists, with indented continuations  .IP
  | tables |                 one .TP per row: the first cell, then the others
  `code`, **bold**, *italic*, [text](url) (the text is kept), \\ escapes

Standard library only; the build runs it for every page (packaging/).
"""
import re
import sys


def esc(text):
    """Escapes roff's special characters in plain text; characters beyond
    ASCII become groff's \\[uXXXX] (no preconv needed)."""
    out = []
    for c in text.replace("\\", "\\e"):
        out.append(c if ord(c) < 128 else "\\[u%04X]" % ord(c))
    return "".join(out)


def inline(text):
    """Markdown inline markup to roff font changes."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                out.append(esc(c))
                i += 1
                continue
            code = esc(text[i + 1:j]).replace("-", "\\-")
            if j - i > 40:
                # a long literal (a TLS priority string) may break after ':' and ','
                code = code.replace(":", ":\\:").replace(",", ",\\:")
            out.append("\\fB" + code + "\\fR")
            i = j + 1
        elif text.startswith("**", i):
            j = text.find("**", i + 2)
            if j < 0:
                out.append("**")
                i += 2
                continue
            out.append("\\fB" + inline(text[i + 2:j]) + "\\fR")
            i = j + 2
        elif c == "*" and i + 1 < len(text) and text[i + 1] not in " *":
            j = text.find("*", i + 1)
            if j < 0:
                out.append("*")
                i += 1
                continue
            out.append("\\fI" + inline(text[i + 1:j]) + "\\fR")
            i = j + 1
        elif c == "[":
            m = re.match(r"\[([^\]]+)\]\(([^)]+)\)", text[i:])
            if m:
                out.append(inline(m.group(1)))
                i += m.end()
            else:
                out.append("[")
                i += 1
        else:
            out.append(esc(c))
            i += 1
    return "".join(out)


def line_out(s):
    """A text line: a leading '.' or ''' would be a request."""
    if s.startswith((".", "'")):
        return "\\&" + s
    return s


def verbatim(lines):
    res = [".PP", ".RS 4", ".nf"]
    for l in lines:
        res.append(line_out(esc(l)))
    res += [".fi", ".RE"]
    return res


def convert(src_lines, version, where):
    out = []
    i = 0
    n = len(src_lines)
    title = None
    prev_kind = None  # 'def' after a definition list item

    def fail(msg):
        sys.exit("%s:%d: %s" % (where, i + 1, msg))

    while i < n:
        line = src_lines[i].rstrip("\n")
        if not line.strip():
            i += 1
            continue
        m = re.match(r"^# (\S+)\((\d)\)\s*$", line)
        if m:
            title = (m.group(1), m.group(2))
            out.append('.TH "%s" "%s" "" "cellgate %s" "cellgate manual"'
                       % (m.group(1).upper(), m.group(2), version))
            # ragged right: long literals (URLs, option strings) leave lines
            # that roff cannot justify (groff -ww warns "cannot adjust line")
            out.append(".ad l")
            i += 1
            prev_kind = None
            continue
        if line.startswith("# "):
            fail("a level-1 heading other than the title 'name(N)'")
        if line.startswith("## "):
            out.append('.SH "%s"' % esc(line[3:].strip().upper()))
            i += 1
            prev_kind = None
            continue
        if line.startswith("### "):
            out.append('.SS "%s"' % inline(line[4:].strip()))
            i += 1
            prev_kind = None
            continue
        if line.startswith("```"):
            j = i + 1
            block = []
            while j < n and not src_lines[j].startswith("```"):
                block.append(src_lines[j].rstrip("\n"))
                j += 1
            if j >= n:
                fail("a code fence that is never closed")
            out += verbatim(block)
            i = j + 1
            prev_kind = None
            continue
        if line.startswith("    ") and prev_kind != "def":
            block = []
            while i < n and (src_lines[i].startswith("    ") or not src_lines[i].strip()):
                block.append(src_lines[i].rstrip("\n")[4:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += verbatim(block)
            prev_kind = None
            continue
        if line.startswith("    ") and prev_kind == "def":
            # another paragraph of the definition above
            para = []
            while i < n and src_lines[i].startswith("    "):
                para.append(src_lines[i].strip())
                i += 1
            out.append(".IP")
            out += [line_out(inline(p)) for p in para]
            continue
        if line.startswith("|"):
            rows = []
            while i < n and src_lines[i].startswith("|"):
                cells = [c.strip() for c in src_lines[i].strip().strip("|").split("|")]
                rows.append(cells)
                i += 1
            if len(rows) < 2 or not all(re.match(r"^:?-+:?$", c) for c in rows[1]):
                fail("a table without its header separator line")
            for r in rows[2:]:
                out.append(".TP")
                out.append(line_out(inline(r[0])))
                out.append(line_out(inline("; ".join(r[1:]))))
            prev_kind = None
            continue
        m = re.match(r"^(-|\d+\.) (.*)$", line)
        if m:
            tag = "\\(bu" if m.group(1) == "-" else m.group(1)
            width = 2 if m.group(1) == "-" else 4
            out.append(".IP %s %d" % (tag, width))
            out.append(line_out(inline(m.group(2))))
            i += 1
            while i < n and src_lines[i].startswith("  ") and src_lines[i].strip():
                out.append(line_out(inline(src_lines[i].strip())))
                i += 1
            prev_kind = "list"
            continue
        # a definition: this line, then ": ..." on the next
        if i + 1 < n and src_lines[i + 1].startswith(":"):
            out.append(".TP")
            out.append(line_out(inline(line.strip())))
            i += 1
            first = src_lines[i][1:].strip()
            out.append(line_out(inline(first)))
            i += 1
            while i < n and src_lines[i].startswith("  ") and src_lines[i].strip():
                out.append(line_out(inline(src_lines[i].strip())))
                i += 1
            prev_kind = "def"
            continue
        if line.startswith(":"):
            fail("a definition without its term on the line before")
        if line.startswith((" ", "\t")) and prev_kind == "list":
            fail("an indented line after a list item and a blank line (not supported)")
        # a paragraph: up to a blank line or another block
        para = []
        while i < n and src_lines[i].strip():
            l = src_lines[i].rstrip("\n")
            if para and (l.startswith(("#", "```", "|", "- ")) or re.match(r"^\d+\. ", l)):
                break
            if i + 1 < n and src_lines[i + 1].startswith(":") and para:
                break
            para.append(l.strip())
            i += 1
        out.append(".PP")
        out += [line_out(inline(p)) for p in para]
        prev_kind = None
    if not title:
        sys.exit("%s: no title line '# name(N)'" % where)
    return out


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: md2man.py SOURCE.md OUT.N [VERSION]")
    src, dst = sys.argv[1], sys.argv[2]
    version = sys.argv[3] if len(sys.argv) == 4 else ""
    with open(src, encoding="utf-8") as f:
        lines = f.readlines()
    out = convert(lines, version, src)
    text = "\n".join(out) + "\n"
    with open(dst + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    import os
    os.replace(dst + ".tmp", dst)


if __name__ == "__main__":
    main()
