package snapshot

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/expertsurvey/expertsurvey/questionnaire"
	"github.com/expertsurvey/expertsurvey/round"
)

// Canonical returns the canonical serialisation of s that Hash is taken
// over: the JSON document described in docs/snapshot-hash.md, serialised per
// RFC 8785 (JSON Canonicalization Scheme): members sorted by their names'
// UTF-16 code units, no insignificant white space, strings with the minimal
// escapes, numbers as ECMAScript writes them. s.Hash is not part of it.
//
// The document is built explicitly, field by field, rather than by
// reflection over the Go types, so that renaming a Go field can never
// silently change a published hash.
func Canonical(s *Snapshot) ([]byte, error) {
	var e encoder
	e.value(document(s))
	if e.err != nil {
		return nil, fmt.Errorf("%w: %s %s revision %d: %w", ErrInvalid, s.Round, s.Country, s.Revision, e.err)
	}
	return e.buf.Bytes(), nil
}

// ComputeHash returns the lowercase hexadecimal SHA-256 of Canonical(s).
func ComputeHash(s *Snapshot) (string, error) {
	b, err := Canonical(s)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// object is a JSON object under construction; the encoder sorts its members,
// so the order here is only for the reader.
type object []member

type member struct {
	name  string
	value any
}

func document(s *Snapshot) object {
	answers := make([]any, len(s.Answers))
	for i := range s.Answers {
		answers[i] = answerDoc(&s.Answers[i])
	}
	overrides := make([]any, len(s.Overrides))
	for i, o := range s.Overrides {
		overrides[i] = object{
			{"node", o.Node}, {"score", o.Score}, {"reason", o.Reason}, {"by", o.By}, {"at", timeDoc(o.At)},
		}
	}
	nodes := make([]any, len(s.Nodes))
	for i := range s.Nodes {
		nodes[i] = nodeDoc(&s.Nodes[i])
	}
	variants := make([]any, len(s.Variants))
	for i := range s.Variants {
		variants[i] = variantDoc(&s.Variants[i])
	}
	var reopened any
	if r := s.Reopened; r != nil {
		reopened = object{{"by", r.By}, {"at", timeDoc(r.At)}, {"reason", r.Reason}}
	}
	return object{
		{"format", Format},
		{"round", s.Round},
		{"country", s.Country},
		{"questionnaire", s.Questionnaire},
		{"version", s.Version},
		{"revision", float64(s.Revision)},
		{"locked_by", s.LockedBy},
		{"locked_at", timeDoc(s.LockedAt)},
		{"reopened", reopened},
		{"answers", answers},
		{"overrides", overrides},
		{"scores", object{{"nodes", nodes}, {"variants", variants}}},
	}
}

func answerDoc(a *Answer) object {
	return object{
		{"indicator", a.Indicator},
		{"option", a.Option},
		{"value", floatDoc(a.Value)},
		{"text", a.Text},
		{"not_applicable", a.NotApplicable},
		{"na_reason", a.NAReason},
		{"comment", a.Comment},
		{"sources", sourcesDoc(a)},
		{"carried", a.Carried},
		{"changed", a.Changed},
		{"justification", a.Justification},
		{"inapplicable", a.Inapplicable},
		{"version", float64(a.Version)},
		{"updated_by", a.UpdatedBy},
		{"updated_at", timeDoc(a.UpdatedAt)},
		{"comments", commentsDoc(a)},
		{"verdicts", verdictsDoc(a)},
		{"adjudication", adjudicationDoc(a)},
	}
}

func sourcesDoc(a *Answer) []any {
	sources := make([]any, len(a.Sources))
	for i, src := range a.Sources {
		sources[i] = sourceDoc(src)
	}
	return sources
}

func commentsDoc(a *Answer) []any {
	comments := make([]any, len(a.Comments))
	for i, c := range a.Comments {
		comments[i] = object{{"author", c.Author}, {"at", timeDoc(c.At)}, {"text", c.Text}}
	}
	return comments
}

func verdictsDoc(a *Answer) []any {
	verdicts := make([]any, len(a.Verdicts))
	for i, v := range a.Verdicts {
		verdicts[i] = object{
			{"reviewer", v.Reviewer}, {"answer_version", float64(v.AnswerVersion)}, {"verdict", v.Verdict},
			{"suggested_option", v.SuggestedOption}, {"reason", v.Reason}, {"at", timeDoc(v.At)},
		}
	}
	return verdicts
}

func adjudicationDoc(a *Answer) any {
	d := a.Adjudication
	if d == nil {
		return nil
	}
	return object{
		{"by", d.By}, {"answer_version", float64(d.AnswerVersion)}, {"option", d.Option},
		{"rationale", d.Rationale}, {"at", timeDoc(d.At)},
	}
}

func sourceDoc(s round.Source) object {
	return object{
		{"kind", string(s.Kind)}, {"title", s.Title}, {"reference", s.Reference}, {"url", s.URL},
		{"text_date", s.TextDate}, {"accessed", s.Accessed}, {"language", s.Language}, {"excerpt", s.Excerpt},
	}
}

func nodeDoc(n *questionnaire.NodeScore) object {
	var ov any
	if o := n.Override; o != nil {
		ov = object{{"computed", floatDoc(o.Computed)}, {"reason", o.Reason}}
	}
	return object{
		{"code", n.Code},
		{"score", floatDoc(n.Score)},
		{"unrounded", floatDoc(n.Unrounded)},
		{"missing", missingDoc(n.Missing)},
		{"override", ov},
	}
}

func variantDoc(v *questionnaire.VariantScore) object {
	return object{
		{"name", v.Name},
		{"score", floatDoc(v.Score)},
		{"unrounded", floatDoc(v.Unrounded)},
		{"missing", missingDoc(v.Missing)},
	}
}

func missingDoc(m *questionnaire.Missing) any {
	if m == nil {
		return nil
	}
	return object{{"reason", string(m.Reason)}, {"child", m.Child}, {"detail", m.Detail}}
}

func floatDoc(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// timeDoc writes a time in the fixed layout; the zero time (never set) is
// null.
func timeDoc(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Truncate(time.Millisecond).Format(TimeLayout)
}

// encoder writes the RFC 8785 form of the values document builds: object,
// []any, string, float64, bool and nil. It keeps the first error.
type encoder struct {
	buf bytes.Buffer
	err error
}

func (e *encoder) value(v any) {
	switch v := v.(type) {
	case nil:
		e.buf.WriteString("null")
	case bool:
		e.buf.WriteString(strconv.FormatBool(v))
	case string:
		e.string(v)
	case float64:
		e.number(v)
	case []any:
		e.buf.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			e.value(x)
		}
		e.buf.WriteByte(']')
	case object:
		sorted := slices.Clone(v)
		slices.SortFunc(sorted, func(a, b member) int { return compareUTF16(a.name, b.name) })
		e.buf.WriteByte('{')
		for i, m := range sorted {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			e.string(m.name)
			e.buf.WriteByte(':')
			e.value(m.value)
		}
		e.buf.WriteByte('}')
	default:
		e.fail(fmt.Errorf("cannot encode %T", v))
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// number writes f as ECMAScript's Number.prototype.toString does (RFC 8785
// section 3.2.2.3): the shortest decimal that reads back as f, in plain
// notation from 1e-6 up to 1e21 and in exponent notation outside.
func (e *encoder) number(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.fail(fmt.Errorf("number %v is not finite", f))
		return
	}
	if f == 0 { // also -0, which ECMAScript writes as 0
		e.buf.WriteByte('0')
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b := strconv.AppendFloat(nil, f, format, -1, 64)
	if format == 'e' {
		// Go writes 1e-07 where ECMAScript writes 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	e.buf.Write(b)
}

// string writes s with exactly the escapes RFC 8785 allows: \" and \\, the
// short forms \b \t \n \f \r, \u00xx (lowercase) for the other control
// characters, and every other character as itself, U+2028 and U+2029
// included (encoding/json escapes those two, which is why it is not used
// here).
func (e *encoder) string(s string) {
	if !utf8.ValidString(s) {
		e.fail(fmt.Errorf("text %q is not valid UTF-8", s))
		return
	}
	const hexDigits = "0123456789abcdef"
	e.buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		// Copy the run of characters that need no escape in one go.
		e.buf.WriteString(s[start:i])
		start = i + 1
		switch {
		case c == '"':
			e.buf.WriteString(`\"`)
		case c == '\\':
			e.buf.WriteString(`\\`)
		case c == '\b':
			e.buf.WriteString(`\b`)
		case c == '\t':
			e.buf.WriteString(`\t`)
		case c == '\n':
			e.buf.WriteString(`\n`)
		case c == '\f':
			e.buf.WriteString(`\f`)
		case c == '\r':
			e.buf.WriteString(`\r`)
		case c < 0x20:
			e.buf.WriteString(`\u00`)
			e.buf.WriteByte(hexDigits[c>>4])
			e.buf.WriteByte(hexDigits[c&0xf])
		}
	}
	e.buf.WriteString(s[start:])
	e.buf.WriteByte('"')
}

// compareUTF16 orders member names by their UTF-16 code units, as RFC 8785
// requires; it differs from Go's byte order only for characters above
// U+FFFF against those from U+E000 to U+FFFF. It allocates nothing: every
// object of every snapshot is sorted.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return cmp.Compare(firstUnit(ra), firstUnit(rb))*2 + cmp.Compare(ra, rb)
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// firstUnit is the first UTF-16 code unit of r: r itself, or the high
// surrogate of a character above U+FFFF. Two characters with the same first
// unit are both above U+FFFF, where code unit and code point order agree.
func firstUnit(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}
