"""Footnotes in a python-docx document.

python-docx writes no footnotes: this adds the footnotes part a document needs (with the two
separators Word expects) and, for each note, the reference in the text and the note itself,
as WordprocessingML (ECMA-376 §17.11). Word, LibreOffice and python-docx's reader open the
result; the notes are ordinary footnotes that staff can edit.
"""

from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn

_EMPTY = (
    f"<w:footnotes {nsdecls('w')}>"
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
    "</w:r></w:p></w:footnote></w:footnotes>"
)
NOTE_SIZE = "18"  # half-points: 9 pt


def _superscript_run(child, size: str | None = None) -> OxmlElement:
    run = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    if size:  # w:sz comes before w:vertAlign in a run's properties (ECMA-376 §17.3.2.28)
        height = OxmlElement("w:sz")
        height.set(qn("w:val"), size)
        properties.append(height)
    align = OxmlElement("w:vertAlign")
    align.set(qn("w:val"), "superscript")
    properties.append(align)
    run.append(properties)
    run.append(child)
    return run


def _text(value: str) -> OxmlElement:
    words = OxmlElement("w:t")
    words.set(qn("xml:space"), "preserve")
    words.text = value
    return words


def _ends_with_reference(paragraph) -> bool:
    runs = paragraph._p.findall(qn("w:r"))
    return bool(runs) and runs[-1].find(qn("w:footnoteReference")) is not None


class Footnotes:
    """The footnotes of one document: ``add(paragraph, text)`` puts a numbered note at the
    end of what the paragraph holds so far; a note given before is referred to by number."""

    def __init__(self, document):
        self.part = XmlPart(
            PackURI("/word/footnotes.xml"),
            CONTENT_TYPE.WML_FOOTNOTES,
            parse_xml(_EMPTY),
            document.part.package,
        )
        document.part.relate_to(self.part, RELATIONSHIP_TYPE.FOOTNOTES)
        self.count = 0
        self.given: dict[str, int] = {}

    def add(self, paragraph, text: str) -> int:
        """A note of ``text``; a source cited again is "See note N." (its first note)."""
        if text in self.given:
            text = f"See note {self.given[text]}."
        else:
            self.given[text] = self.count + 1
        self.count += 1
        number = str(self.count)
        reference = OxmlElement("w:footnoteReference")
        reference.set(qn("w:id"), number)
        if _ends_with_reference(paragraph):  # "1,2", not "12"
            paragraph._p.append(_superscript_run(_text(",")))
        paragraph._p.append(_superscript_run(reference))

        note = OxmlElement("w:footnote")
        note.set(qn("w:id"), number)
        body = OxmlElement("w:p")
        layout = OxmlElement("w:pPr")
        spacing = OxmlElement("w:spacing")
        spacing.set(qn("w:after"), "0")
        layout.append(spacing)
        body.append(layout)
        body.append(_superscript_run(OxmlElement("w:footnoteRef"), NOTE_SIZE))
        run = OxmlElement("w:r")
        properties = OxmlElement("w:rPr")
        size = OxmlElement("w:sz")
        size.set(qn("w:val"), NOTE_SIZE)
        properties.append(size)
        run.append(properties)
        run.append(_text(f" {text}"))
        body.append(run)
        note.append(body)
        self.part.element.append(note)
        return self.count


def read(document) -> dict[int, str]:
    """{number: text} of the document's footnotes (for tests and checks)."""
    for relationship in document.part.rels.values():
        if relationship.reltype == RELATIONSHIP_TYPE.FOOTNOTES:
            element = parse_xml(relationship.target_part.blob)
            break
    else:
        return {}
    notes = {}
    for note in element.iter(qn("w:footnote")):
        number = int(note.get(qn("w:id")))
        if number > 0:
            notes[number] = "".join(t.text or "" for t in note.iter(qn("w:t"))).strip()
    return notes


def references(paragraph) -> list[int]:
    """The numbers of the footnotes a paragraph refers to, in order."""
    return [int(ref.get(qn("w:id"))) for ref in paragraph._p.iter(qn("w:footnoteReference"))]
