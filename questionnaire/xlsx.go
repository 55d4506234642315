package questionnaire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// FormatXLSX names the spreadsheet form of a definition, in which
// coordinators write instruments: one sheet per kind of element, one row per
// element. DecodeDefinition and EncodeDefinition do not take it (a workbook
// is binary and is validated while it is read); use DecodeDefinitionXLSX and
// EncodeDefinitionXLSX. docs/questionnaire-format.md describes the sheets.
const FormatXLSX = "xlsx"

// Sheet names, in the order the encoder writes them and problems are sorted.
const (
	sheetDefinition = "definition"
	sheetGroups     = "groups"
	sheetIndicators = "indicators"
	sheetOptions    = "options"
	sheetBands      = "bands"
	sheetLookups    = "lookups"
	sheetVariants   = "variants"
)

// sheetSpec describes the columns of one sheet. Plain columns hold one
// value; text columns are written field:<lang>, one per language; the
// lookups sheet also has numbered when:<n> columns.
type sheetSpec struct {
	name     string
	required bool
	plain    []string
	texts    []string
	numbered string
	// key is the column a row cannot do without.
	key string
	// codeLike columns are formatted as text in written workbooks, so that
	// a code such as 1.10 typed by a person is not turned into a number.
	codeLike []string
}

var xlsxSheets = []sheetSpec{
	{name: sheetDefinition, required: true, plain: []string{"key", "value"}, key: "key", codeLike: []string{"key", "value"}},
	{
		name: sheetGroups, required: true, key: "code",
		plain:    []string{"code", "parent", "weight", "level", "aggregation", "missing", "min_present", "lookup_by", "lookup_default", "rounding", "rounding_mode", "parent_uses_rounded"},
		texts:    []string{"title"},
		codeLike: []string{"code", "parent"},
	},
	{
		name: sheetIndicators, required: true, key: "code",
		plain:    []string{"code", "parent", "weight", "type", "source_required", "scored", "condition", "min", "max", "scoring", "rounding", "rounding_mode", "parent_uses_rounded"},
		texts:    []string{"title", "question", "guidance", "unit"},
		codeLike: []string{"code", "parent", "condition"},
	},
	{name: sheetOptions, key: "indicator", plain: []string{"indicator", "code", "score"}, texts: []string{"label"}, codeLike: []string{"indicator", "code"}},
	{name: sheetBands, key: "indicator", plain: []string{"indicator", "min", "over", "max", "under", "score"}, codeLike: []string{"indicator"}},
	{name: sheetLookups, key: "group", plain: []string{"group", "score"}, numbered: "when", codeLike: []string{"group"}},
	{
		name: sheetVariants, key: "name",
		plain:    []string{"name", "areas", "aggregation", "weights", "missing", "min_present", "rounding", "rounding_mode", "parent_uses_rounded"},
		texts:    []string{"title"},
		codeLike: []string{"name", "areas", "weights"},
	},
}

// maxCellUnits is Excel's limit on a cell's length, in UTF-16 units.
// excelize silently truncates longer values, so the encoder refuses them.
const maxCellUnits = 32767

// maxUnzippedWorkbook bounds what a workbook may expand to, so that a small
// zip bomb cannot exhaust memory.
const maxUnzippedWorkbook = 256 << 20

// maxWhenColumns bounds the when:<n> columns of the lookups sheet; a lookup
// over more children than this is not one a person fills in by hand.
const maxWhenColumns = 1000

func sheetIndex(name string) int {
	return slices.IndexFunc(xlsxSheets, func(s sheetSpec) bool { return s.name == name })
}

// ---------------------------------------------------------------------------
// Decoding

// DecodeDefinitionXLSX reads a definition from a workbook in the layout
// EncodeDefinitionXLSX writes. Unlike DecodeDefinition it validates: a
// workbook is a finished hand-over from a coordinator, and the person who
// fixes it needs to know which cell is wrong. It reports every problem at
// once in a *ValidationError (errors.Is(err, ErrInvalid)), each with its
// sheet and row ("indicators!row 12") and, where known, its column; the
// Definition's own Validate problems are mapped back to rows the same way.
// A file that is not a workbook yields ErrFormat. Nothing is returned while
// any problem exists.
func DecodeDefinitionXLSX(r io.Reader) (*Definition, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDefinitionSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading: %w", ErrFormat, err)
	}
	if len(data) > maxDefinitionSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrFormat, maxDefinitionSize)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzippedWorkbook})
	if err != nil {
		return nil, fmt.Errorf("%w: not an xlsx workbook: %w", ErrFormat, err)
	}
	defer f.Close()

	dec := &xlsxDecoder{d: new(Definition), locs: map[string]xlsxLoc{}, tables: map[string]*xlsxTable{}}
	if err := dec.readTables(f); err != nil {
		return nil, err
	}
	dec.decode()
	if ps := dec.result(); len(ps) > 0 {
		return nil, &ValidationError{Problems: ps}
	}
	return dec.d, nil
}

// xlsxLoc is a place in the workbook: a sheet, a row (0: the sheet as a
// whole) and optionally a column.
type xlsxLoc struct {
	sheet  string
	row    int
	column string
}

type xlsxProblem struct {
	loc xlsxLoc
	p   Problem
}

type xlsxDecoder struct {
	d        *Definition
	tables   map[string]*xlsxTable
	problems []xlsxProblem
	// locs maps a model path, as Validate reports it, to where the element
	// was written, so that validation problems point at rows.
	locs map[string]xlsxLoc
	// nodes holds the first group or indicator row with each code.
	nodes map[string]*xlsxNode
	// pending holds where options, bands and lookup rows were written,
	// relative to their node, until the node's model path is known.
	pending map[*xlsxNode][]pendingLoc
}

func (dec *xlsxDecoder) add(loc xlsxLoc, code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	dec.problems = append(dec.problems, xlsxProblem{loc: loc, p: Problem{Path: loc.path(), Code: code, Message: columnMessage(loc, msg)}})
}

func (l xlsxLoc) path() string {
	if l.row == 0 {
		return l.sheet
	}
	return fmt.Sprintf("%s!row %d", l.sheet, l.row)
}

func columnMessage(l xlsxLoc, msg string) string {
	switch {
	case l.column == "":
		return msg
	case l.sheet == sheetDefinition:
		return "key " + l.column + ": " + msg
	case isColumnOf(l.sheet, l.column):
		return "column " + l.column + ": " + msg
	}
	return l.column + ": " + msg
}

// isColumnOf reports whether name is a column of the sheet, as opposed to
// a label for something without a column (a group's children, say).
func isColumnOf(sheet, name string) bool {
	i := sheetIndex(sheet)
	if i < 0 {
		return false
	}
	spec := xlsxSheets[i]
	field, _, hasSuffix := strings.Cut(name, ":")
	if hasSuffix {
		return slices.Contains(spec.texts, field) || field == spec.numbered
	}
	return slices.Contains(spec.plain, name)
}

// xlsxTable is one sheet read into memory with its header resolved.
type xlsxTable struct {
	name string
	rows [][]string
	// cols maps a column name ("code", "title:en", "when:2") to its index.
	cols map[string]int
	// langs lists the languages of each text field, in column order.
	langs map[string][]string
	// whens lists the when:<n> columns by n (index 0 is when:1); -1 where
	// the column is absent.
	whens []int
	ok    bool
}

func (dec *xlsxDecoder) readTables(f *excelize.File) error {
	seen := map[string]string{}
	for _, name := range f.GetSheetList() {
		key := strings.ToLower(strings.TrimSpace(name))
		if strings.HasPrefix(key, "#") {
			continue // a sheet of notes, by the author's explicit choice
		}
		i := sheetIndex(key)
		if i < 0 {
			dec.add(xlsxLoc{sheet: name}, "", "unknown sheet %q (want %s; start a sheet name with # to keep notes)", name, sheetNames())
			continue
		}
		if prev, dup := seen[key]; dup {
			dec.add(xlsxLoc{sheet: name}, "", "a second %s sheet (first: %q)", key, prev)
			continue
		}
		seen[key] = name
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			return fmt.Errorf("%w: reading sheet %q: %w", ErrFormat, name, err)
		}
		dec.tables[key] = dec.header(xlsxSheets[i], rows)
	}
	for _, spec := range xlsxSheets {
		if _, ok := dec.tables[spec.name]; !ok && spec.required {
			dec.add(xlsxLoc{sheet: spec.name}, "", "missing sheet %q", spec.name)
		}
	}
	return nil
}

func sheetNames() string {
	names := make([]string, len(xlsxSheets))
	for i, s := range xlsxSheets {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

// header reads row 1 of a sheet. Every non-empty header must be a known
// column: a misspelt column would otherwise drop its values silently.
func (dec *xlsxDecoder) header(spec sheetSpec, rows [][]string) *xlsxTable {
	t := &xlsxTable{name: spec.name, rows: rows, cols: map[string]int{}, langs: map[string][]string{}}
	if len(rows) == 0 {
		if spec.required {
			dec.add(xlsxLoc{sheet: spec.name, row: 1}, "", "empty sheet: the first row names the columns (%s)", strings.Join(spec.plain, ", "))
		}
		return t
	}
	at := xlsxLoc{sheet: spec.name, row: 1}
	for j, cell := range rows[0] {
		name := strings.TrimSpace(cell)
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		field, suffix, hasSuffix := strings.Cut(name, ":")
		field = strings.ToLower(strings.TrimSpace(field))
		suffix = strings.TrimSpace(suffix)
		var when int
		switch {
		case !hasSuffix && slices.Contains(spec.plain, field):
			name = field
		case hasSuffix && slices.Contains(spec.texts, field):
			if suffix == "" {
				dec.add(at, "", "column %q: name the language after the colon, e.g. %s:en", cell, field)
				continue
			}
			name = field + ":" + suffix
		case hasSuffix && field == spec.numbered && spec.numbered != "":
			n, err := strconv.Atoi(suffix)
			if err != nil || n < 1 || n > maxWhenColumns {
				dec.add(at, "", "column %q: number the %s columns from 1 to %d, e.g. %s:1", cell, field, maxWhenColumns, field)
				continue
			}
			name, when = fmt.Sprintf("%s:%d", field, n), n
		default:
			dec.add(at, "", "unknown column %q (want %s)", cell, describeColumns(spec))
			continue
		}
		if _, dup := t.cols[name]; dup {
			dec.add(at, "", "column %q appears twice", name)
			continue
		}
		switch {
		case when > 0:
			for len(t.whens) < when {
				t.whens = append(t.whens, -1)
			}
			t.whens[when-1] = j
		case hasSuffix:
			t.langs[field] = append(t.langs[field], suffix)
		}
		t.cols[name] = j
	}
	if _, ok := t.cols[spec.key]; !ok {
		dec.add(at, "", "missing column %q", spec.key)
		return t
	}
	t.ok = true
	return t
}

func describeColumns(spec sheetSpec) string {
	parts := slices.Clone(spec.plain)
	for _, f := range spec.texts {
		parts = append(parts, f+":<lang>")
	}
	if spec.numbered != "" {
		parts = append(parts, spec.numbered+":<n>")
	}
	return strings.Join(parts, ", ")
}

// xlsxRow reads the cells of one data row and reports problems against it.
type xlsxRow struct {
	dec   *xlsxDecoder
	t     *xlsxTable
	num   int
	cells []string
	code  string // the element's code, for problems
}

// dataRows returns the non-blank rows below the header, reporting values
// in columns without a header.
func (dec *xlsxDecoder) dataRows(name string) []xlsxRow {
	t := dec.tables[name]
	if t == nil || !t.ok {
		return nil
	}
	named := map[int]bool{}
	for _, j := range t.cols {
		named[j] = true
	}
	var out []xlsxRow
	for i := 1; i < len(t.rows); i++ {
		cells := t.rows[i]
		blank := true
		for j, c := range cells {
			if strings.TrimSpace(c) == "" {
				continue
			}
			if j < len(t.rows[0]) && strings.HasPrefix(strings.TrimSpace(t.rows[0][j]), "#") {
				continue
			}
			blank = false
			if !named[j] {
				col, _ := excelize.ColumnNumberToName(j + 1)
				dec.add(xlsxLoc{sheet: name, row: i + 1}, "", "cell %s%d has a value but its column has no valid name", col, i+1)
			}
		}
		if !blank {
			out = append(out, xlsxRow{dec: dec, t: t, num: i + 1, cells: cells})
		}
	}
	return out
}

func (r *xlsxRow) loc(column string) xlsxLoc {
	return xlsxLoc{sheet: r.t.name, row: r.num, column: column}
}

func (r *xlsxRow) problem(column, format string, args ...any) {
	r.dec.add(r.loc(column), r.code, format, args...)
}

// raw returns a cell verbatim: texts keep their spaces and line breaks.
func (r *xlsxRow) raw(column string) string {
	j, ok := r.t.cols[column]
	if !ok || j >= len(r.cells) {
		return ""
	}
	return r.cells[j]
}

// str returns a cell without surrounding spaces: codes and keywords, where
// a stray space is a typing accident.
func (r *xlsxRow) str(column string) string {
	return strings.TrimSpace(r.raw(column))
}

func (r *xlsxRow) text(field string) Text {
	var t Text
	for _, lang := range r.t.langs[field] {
		if s := r.raw(field + ":" + lang); s != "" {
			if t == nil {
				t = Text{}
			}
			t[lang] = s
		}
	}
	return t
}

func (r *xlsxRow) float(column string) *float64 {
	s := r.str(column)
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		r.problem(column, "%q is not a number", s)
		return nil
	}
	return &f
}

func (r *xlsxRow) integer(column string) (int, bool) {
	s := r.str(column)
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		r.problem(column, "%q is not a whole number", s)
		return 0, false
	}
	return int(f), true
}

func (r *xlsxRow) boolean(column string) (value, set bool) {
	s := r.str(column)
	switch strings.ToLower(s) {
	case "":
		return false, false
	case "yes", "true", "1":
		return true, true
	case "no", "false", "0":
		return false, true
	}
	r.problem(column, "%q is not yes or no", s)
	return false, false
}

func (r *xlsxRow) rounding() *Rounding {
	decimals, hasDecimals := r.integer("rounding")
	mode := r.str("rounding_mode")
	parentUses, hasParent := r.boolean("parent_uses_rounded")
	if !hasDecimals && mode == "" && !hasParent {
		return nil
	}
	return &Rounding{Decimals: decimals, Mode: RoundingMode(mode), ParentUsesRounded: parentUses}
}

func (r *xlsxRow) rule() Rule {
	rule := Rule{
		Aggregation: Aggregation(r.str("aggregation")),
		Missing:     MissingRule(r.str("missing")),
		Rounding:    r.rounding(),
	}
	rule.MinPresent, _ = r.integer("min_present")
	return rule
}

// xlsxNode is a group or indicator row on its way into the tree.
type xlsxNode struct {
	loc    xlsxLoc
	parent string
	weight *float64
	group  *Group
	ind    *Indicator
	// seq is the row's position among the indicator rows placed in the
	// tree; for a group, the lowest seq of its indicators (noIndicator if
	// it has none), which is where the group sits among its siblings.
	seq      int
	groups   []*xlsxNode // child groups in groups-sheet order
	inds     []*xlsxNode // child indicators in indicators-sheet order
	children []*xlsxNode
}

const noIndicator = math.MaxInt

func (n *xlsxNode) code() string {
	if n.group != nil {
		return n.group.Code
	}
	return n.ind.Code
}

func (n *xlsxNode) node() Node {
	if n.group != nil {
		return Node{Group: n.group}
	}
	return Node{Indicator: n.ind}
}

func (dec *xlsxDecoder) decode() {
	dec.definitionSheet()
	dec.nodes = map[string]*xlsxNode{}
	var groups, inds []*xlsxNode
	for _, r := range dec.dataRows(sheetGroups) {
		g := &Group{Code: r.str("code"), Level: r.str("level"), Title: r.text("title")}
		r.code = g.Code
		g.Rule = r.rule()
		by, def := r.str("lookup_by"), r.float("lookup_default")
		if by != "" || def != nil {
			g.Lookup = &Lookup{By: LookupBy(by), Default: def}
		}
		n := &xlsxNode{loc: r.loc(""), parent: r.str("parent"), weight: r.float("weight"), group: g}
		if dec.register(n) {
			groups = append(groups, n)
		}
	}
	for _, r := range dec.dataRows(sheetIndicators) {
		ind := dec.indicatorRow(&r)
		n := &xlsxNode{loc: r.loc(""), parent: r.str("parent"), weight: r.float("weight"), ind: ind}
		if dec.register(n) {
			inds = append(inds, n)
		}
	}
	dec.optionsSheet()
	dec.bandsSheet()
	dec.lookupsSheet()
	dec.tree(groups, inds)
	dec.variantsSheet()
}

func (dec *xlsxDecoder) definitionSheet() {
	d := dec.d
	seen := map[string]int{}
	for _, r := range dec.dataRows(sheetDefinition) {
		key := r.str("key")
		field, lang, hasLang := strings.Cut(key, ":")
		field = strings.ToLower(strings.TrimSpace(field))
		lang = strings.TrimSpace(lang)
		name := field
		if hasLang {
			name = field + ":" + lang
		}
		if prev, dup := seen[name]; dup {
			r.problem("", "key %q appears twice (first at row %d)", name, prev)
			continue
		}
		seen[name] = r.num
		at := r.loc("")
		switch {
		case name == "code":
			d.Code = r.str("value")
			dec.locs["code"] = at
		case name == "default_language":
			d.DefaultLanguage = r.str("value")
			dec.locs["default_language"] = at
		case name == "languages":
			langs, err := parseList(r.raw("value"))
			if err != nil {
				r.problem("", "%v", err)
			}
			d.Languages = langs
			dec.locs["languages"] = at
		case field == "title" && hasLang && lang != "":
			if s := r.raw("value"); s != "" {
				if d.Title == nil {
					d.Title = Text{}
				}
				d.Title[lang] = s
			}
			dec.locs["title."+lang] = at
		default:
			r.problem("", "unknown key %q (want code, title:<lang>, default_language or languages)", key)
		}
	}
	if at, ok := dec.locs["title."+d.DefaultLanguage]; ok {
		dec.locs["title"] = at
	}
}

func (dec *xlsxDecoder) indicatorRow(r *xlsxRow) *Indicator {
	ind := &Indicator{
		Code:     r.str("code"),
		Title:    r.text("title"),
		Question: r.text("question"),
		Guidance: r.text("guidance"),
		Type:     AnswerType(r.str("type")),
	}
	r.code = ind.Code
	ind.SourceRequired, _ = r.boolean("source_required")
	if scored, set := r.boolean("scored"); set {
		ind.Scored = &scored
	}
	if expr := r.str("condition"); expr != "" {
		c, err := ParseCondition(expr)
		if err != nil {
			r.problem("condition", "%v", err)
		} else {
			ind.Condition = c
		}
	}
	num := &Number{Unit: r.text("unit"), Min: r.float("min"), Max: r.float("max"), Scoring: NumberScoring(r.str("scoring"))}
	if num.Unit != nil || num.Min != nil || num.Max != nil || num.Scoring != "" {
		ind.Number = num
	}
	ind.Rounding = r.rounding()
	return ind
}

// register records a group or indicator row under its code, refusing a
// second row with the same code: options, bands and lookups refer to rows
// by code, so a duplicate would make them ambiguous.
func (dec *xlsxDecoder) register(n *xlsxNode) bool {
	code := n.code()
	if code == "" {
		// Kept so that Validate reports the empty code at this row.
		return true
	}
	if prev, dup := dec.nodes[code]; dup {
		dec.add(xlsxLoc{sheet: n.loc.sheet, row: n.loc.row, column: "code"}, code, "duplicate code %q: already used at %s (groups and indicators share one namespace)", code, prev.loc.path())
		return false
	}
	dec.nodes[code] = n
	return true
}

// indicatorRef resolves the indicator named in a row of the options or
// bands sheet.
func (dec *xlsxDecoder) indicatorRef(r *xlsxRow) *xlsxNode {
	code := r.str("indicator")
	r.code = code
	n := dec.nodes[code]
	switch {
	case code == "":
		r.problem("indicator", "must not be empty")
	case n == nil:
		r.problem("indicator", "unknown indicator %q", code)
	case n.ind == nil:
		r.problem("indicator", "%q is a group, not an indicator", code)
	default:
		return n
	}
	return nil
}

func (dec *xlsxDecoder) optionsSheet() {
	for _, r := range dec.dataRows(sheetOptions) {
		n := dec.indicatorRef(&r)
		o := Option{Code: r.str("code"), Label: r.text("label"), Score: r.float("score")}
		if n == nil {
			continue
		}
		n.ind.Options = append(n.ind.Options, o)
		dec.rowOf(n, fmt.Sprintf(".options[%d]", len(n.ind.Options)-1), r.loc(""))
	}
}

func (dec *xlsxDecoder) bandsSheet() {
	for _, r := range dec.dataRows(sheetBands) {
		n := dec.indicatorRef(&r)
		b := Band{Min: r.float("min"), Over: r.float("over"), Max: r.float("max"), Under: r.float("under"), Score: r.float("score")}
		if n == nil {
			continue
		}
		if n.ind.Number == nil {
			n.ind.Number = &Number{}
		}
		n.ind.Number.Bands = append(n.ind.Number.Bands, b)
		dec.rowOf(n, fmt.Sprintf(".number.bands[%d]", len(n.ind.Number.Bands)-1), r.loc(""))
	}
}

func (dec *xlsxDecoder) lookupsSheet() {
	t := dec.tables[sheetLookups]
	for _, r := range dec.dataRows(sheetLookups) {
		code := r.str("group")
		r.code = code
		n := dec.nodes[code]
		switch {
		case code == "":
			r.problem("group", "must not be empty")
		case n == nil:
			r.problem("group", "unknown group %q", code)
		case n.group == nil:
			r.problem("group", "%q is an indicator, not a group", code)
		}
		// The row has as many values as its last filled when column; a gap
		// before it is a mistake, since "*" is how a row says "any value".
		var when []LookupKey
		last := -1
		for k, j := range t.whens {
			if j >= 0 && j < len(r.cells) && strings.TrimSpace(r.cells[j]) != "" {
				last = k
			}
		}
		for k := 0; k <= last; k++ {
			column := fmt.Sprintf("when:%d", k+1)
			v := r.str(column)
			if v == "" {
				r.problem(column, "empty value before the last value of the row: write * to match any value")
			}
			when = append(when, LookupKey(v))
		}
		row := LookupRow{When: when, Score: r.float("score")}
		if n == nil || n.group == nil {
			continue
		}
		if n.group.Lookup == nil {
			n.group.Lookup = &Lookup{}
		}
		n.group.Lookup.Rows = append(n.group.Lookup.Rows, row)
		dec.rowOf(n, fmt.Sprintf(".lookup.rows[%d]", len(n.group.Lookup.Rows)-1), r.loc(""))
	}
}

// rowOf remembers where a sub-element of a node was written, relative to
// the node's model path, which is known only once the tree is built.
func (dec *xlsxDecoder) rowOf(n *xlsxNode, suffix string, at xlsxLoc) {
	if dec.pending == nil {
		dec.pending = map[*xlsxNode][]pendingLoc{}
	}
	dec.pending[n] = append(dec.pending[n], pendingLoc{suffix: suffix, loc: at})
}

type pendingLoc struct {
	suffix string
	loc    xlsxLoc
}

// tree links rows to their parents and orders each group's children. The
// indicators sheet is the questionnaire in order; a child group takes the
// place of its first indicator, and sibling groups must be listed in the
// groups sheet in that same order, so that both sheets read as the tree.
func (dec *xlsxDecoder) tree(groups, inds []*xlsxNode) {
	root := &xlsxNode{}
	attach := func(n *xlsxNode) {
		if n.parent == "" {
			if n.weight != nil {
				dec.add(xlsxLoc{sheet: n.loc.sheet, row: n.loc.row, column: "weight"}, n.code(), "only children of a group carry a weight (variants list their own weights)")
			}
			if n.group != nil {
				root.groups = append(root.groups, n)
			} else {
				root.inds = append(root.inds, n)
			}
			return
		}
		p := dec.nodes[n.parent]
		at := xlsxLoc{sheet: n.loc.sheet, row: n.loc.row, column: "parent"}
		switch {
		case p == nil:
			dec.add(at, n.code(), "unknown group %q", n.parent)
		case p.group == nil:
			dec.add(at, n.code(), "%q is an indicator, not a group", n.parent)
		case n.group != nil:
			p.groups = append(p.groups, n)
		default:
			p.inds = append(p.inds, n)
		}
	}
	for _, n := range groups {
		attach(n)
	}
	for _, n := range inds {
		attach(n)
	}
	// Groups whose parents loop never reach the root.
	reached := map[*xlsxNode]bool{}
	var reach func(n *xlsxNode)
	reach = func(n *xlsxNode) {
		reached[n] = true
		for _, g := range n.groups {
			reach(g)
		}
	}
	reach(root)
	for _, g := range groups {
		if !reached[g] && g.parent != "" && dec.nodes[g.parent] != nil && dec.nodes[g.parent].group != nil {
			dec.add(xlsxLoc{sheet: g.loc.sheet, row: g.loc.row, column: "parent"}, g.code(), "the parents of %q form a cycle", g.code())
		}
	}
	// Number the indicators in the tree by row, then order every group.
	var placed []*xlsxNode
	for _, n := range inds {
		if dec.placed(n, reached) {
			placed = append(placed, n)
		}
	}
	for k, n := range placed {
		n.seq = k
	}
	dec.order(root)
	ordered := dec.checkContiguous(root)
	ordered = dec.checkSiblingGroups(root) && ordered
	if ordered {
		var got []*xlsxNode
		var walk func(n *xlsxNode)
		walk = func(n *xlsxNode) {
			for _, c := range n.children {
				if c.ind != nil {
					got = append(got, c)
				}
				walk(c)
			}
		}
		walk(root)
		if !slices.Equal(got, placed) {
			dec.add(xlsxLoc{sheet: sheetIndicators}, "", "the rows are not in tree order: keep each group's indicators together")
		}
	}
	dec.d.Tree = dec.build(root, "tree")
}

func (dec *xlsxDecoder) placed(n *xlsxNode, reached map[*xlsxNode]bool) bool {
	if n.parent == "" {
		return true
	}
	p := dec.nodes[n.parent]
	return p != nil && p.group != nil && reached[p]
}

// order sets every group's seq and merges its child groups and indicators
// into one list.
func (dec *xlsxDecoder) order(n *xlsxNode) {
	n.seq = noIndicator
	for _, g := range n.groups {
		dec.order(g)
		n.seq = min(n.seq, g.seq)
	}
	for _, ind := range n.inds {
		n.seq = min(n.seq, ind.seq)
	}
	i, j := 0, 0
	n.children = make([]*xlsxNode, 0, len(n.groups)+len(n.inds))
	for i < len(n.groups) || j < len(n.inds) {
		// A group without indicators follows the sibling group before it.
		if i < len(n.groups) && (j == len(n.inds) || n.groups[i].seq == noIndicator || n.groups[i].seq < n.inds[j].seq) {
			n.children = append(n.children, n.groups[i])
			i++
		} else {
			n.children = append(n.children, n.inds[j])
			j++
		}
	}
}

// checkContiguous reports groups whose indicators are not in consecutive
// rows: the sheet would not read as the tree. Only the innermost such
// group is reported, since its ancestors fail for the same reason.
func (dec *xlsxDecoder) checkContiguous(root *xlsxNode) bool {
	ok := true
	bySeq := map[int]*xlsxNode{}
	var index func(n *xlsxNode)
	index = func(n *xlsxNode) {
		for _, c := range n.children {
			if c.ind != nil {
				bySeq[c.seq] = n
			}
			index(c)
		}
	}
	index(root)
	var visit func(n *xlsxNode) (count, lo, hi int, bad bool)
	visit = func(n *xlsxNode) (count, lo, hi int, bad bool) {
		lo, hi = noIndicator, -1
		childBad := false
		for _, c := range n.children {
			if c.ind != nil {
				count++
				lo, hi = min(lo, c.seq), max(hi, c.seq)
				continue
			}
			k, l, h, b := visit(c)
			count += k
			if k > 0 {
				lo, hi = min(lo, l), max(hi, h)
			}
			childBad = childBad || b
		}
		if count == 0 || hi-lo+1 == count || n.group == nil {
			return count, lo, hi, childBad
		}
		if !childBad {
			ok = false
			intruder := ""
			for s := lo; s <= hi; s++ {
				if p := bySeq[s]; p != nil && !dec.isWithin(p, n) {
					for _, c := range p.children {
						if c.ind != nil && c.seq == s {
							intruder = fmt.Sprintf(" (%s holds %s, of another group)", c.loc.path(), c.code())
						}
					}
					break
				}
			}
			dec.add(n.loc, n.group.Code, "the indicators of group %q are not in consecutive rows of the indicators sheet%s: keep each group's indicators together", n.group.Code, intruder)
		}
		return count, lo, hi, true
	}
	visit(root)
	return ok
}

func (dec *xlsxDecoder) isWithin(n, ancestor *xlsxNode) bool {
	for ; n != nil; n = dec.nodes[n.parent] {
		if n == ancestor {
			return true
		}
		if n.parent == "" {
			return false
		}
	}
	return false
}

// checkSiblingGroups reports sibling groups listed in one order in the
// groups sheet and in the other order in the indicators sheet.
func (dec *xlsxDecoder) checkSiblingGroups(n *xlsxNode) bool {
	ok := true
	var prev *xlsxNode
	for _, g := range n.groups {
		if g.seq == noIndicator {
			continue
		}
		if prev != nil && g.seq < prev.seq {
			dec.add(g.loc, g.code(), "group %q is listed after its sibling %q (%s) but its indicators come first in the indicators sheet: list sibling groups in the order of their indicators", g.code(), prev.code(), prev.loc.path())
			ok = false
		}
		prev = g
	}
	for _, g := range n.groups {
		ok = dec.checkSiblingGroups(g) && ok
	}
	return ok
}

// build fills the model's children and weights from the ordered rows and
// records where each element sits, by its model path.
func (dec *xlsxDecoder) build(n *xlsxNode, path string) []Node {
	var out []Node
	var weights []Weight
	for k, c := range n.children {
		p := fmt.Sprintf("%s[%d]", path, k)
		if c.group != nil {
			p += ".group"
			c.group.Children = dec.build(c, p+".children")
		} else {
			p += ".indicator"
		}
		dec.locs[p] = c.loc
		for _, pl := range dec.pending[c] {
			dec.locs[p+pl.suffix] = pl.loc
		}
		if c.weight != nil && n.group != nil {
			dec.locs[fmt.Sprintf("%s.weights[%d]", strings.TrimSuffix(path, ".children"), len(weights))] = xlsxLoc{sheet: c.loc.sheet, row: c.loc.row, column: "weight"}
			weights = append(weights, Weight{Child: c.code(), Weight: c.weight})
		}
		out = append(out, c.node())
	}
	if n.group != nil {
		n.group.Weights = weights
	}
	return out
}

func (dec *xlsxDecoder) variantsSheet() {
	for i, r := range dec.dataRows(sheetVariants) {
		v := Variant{Name: r.str("name"), Title: r.text("title")}
		r.code = v.Name
		v.Rule = r.rule()
		var err error
		if v.Areas, err = parseList(r.raw("areas")); err != nil {
			r.problem("areas", "%v", err)
		}
		if v.Weights, err = parseWeights(r.raw("weights")); err != nil {
			r.problem("weights", "%v", err)
		}
		dec.d.Variants = append(dec.d.Variants, v)
		dec.locs[fmt.Sprintf("variants[%d]", i)] = r.loc("")
	}
}

// result runs Validate, maps its problems to rows and returns every
// problem in workbook order. A validation problem in a cell that already
// has a problem is dropped: it is the same mistake seen twice (a score
// that is not a number is also a missing score).
func (dec *xlsxDecoder) result() []Problem {
	seen := map[xlsxLoc]bool{}
	for _, p := range dec.problems {
		seen[p.loc] = true
	}
	for _, p := range dec.d.Validate() {
		loc, rest, ok := dec.locate(p.Path)
		if !ok {
			dec.problems = append(dec.problems, xlsxProblem{loc: xlsxLoc{sheet: "~"}, p: p})
			continue
		}
		if loc.column == "" {
			loc.column = columnFor(loc.sheet, rest, dec.d.DefaultLanguage)
		}
		if seen[loc] {
			continue
		}
		dec.problems = append(dec.problems, xlsxProblem{loc: loc, p: Problem{Path: loc.path(), Code: p.Code, Message: columnMessage(loc, p.Message)}})
	}
	slices.SortStableFunc(dec.problems, func(a, b xlsxProblem) int {
		if c := sheetRank(a.loc.sheet) - sheetRank(b.loc.sheet); c != 0 {
			return c
		}
		return a.loc.row - b.loc.row
	})
	out := make([]Problem, len(dec.problems))
	for i, p := range dec.problems {
		out[i] = p.p
	}
	return out
}

// sheetRank sorts problems of unknown sheets first, then sheet by sheet,
// then problems Validate reported where no row could be found.
func sheetRank(sheet string) int {
	if sheet == "~" {
		return len(xlsxSheets)
	}
	return sheetIndex(sheet)
}

// locate finds the row of the longest registered prefix of a model path.
func (dec *xlsxDecoder) locate(path string) (xlsxLoc, string, bool) {
	for prefix := path; prefix != ""; {
		if loc, ok := dec.locs[prefix]; ok {
			return loc, path[len(prefix):], true
		}
		cut := max(strings.LastIndexByte(prefix, '.'), strings.LastIndexByte(prefix, '['))
		if cut < 0 {
			break
		}
		prefix = prefix[:cut]
	}
	// A definition-level field with no row of its own: point at the sheet.
	head := path
	if i := strings.IndexAny(head, ".["); i >= 0 {
		head = head[:i]
	}
	switch head {
	case "code", "title", "default_language", "languages":
		column := head
		if head == "title" {
			column = "title:" + dec.d.DefaultLanguage
		}
		return xlsxLoc{sheet: sheetDefinition, column: column}, "", true
	}
	return xlsxLoc{}, "", false
}

// columnFor names the column of the rest of a model path below a row, e.g.
// ".number.min" -> "min", ".title.fr" -> "title:fr".
func columnFor(sheet, rest, defaultLang string) string {
	rest = strings.TrimPrefix(rest, ".")
	if rest == "" || sheet == sheetDefinition {
		return ""
	}
	parts := strings.Split(rest, ".")
	head, index, _ := strings.Cut(parts[0], "[")
	next := ""
	if len(parts) > 1 {
		next = parts[1]
	}
	withLang := func(field string) string {
		if next != "" {
			return field + ":" + next
		}
		return field + ":" + defaultLang
	}
	switch head {
	case "title", "question", "guidance", "label":
		return withLang(head)
	case "number":
		switch next {
		case "unit":
			if len(parts) > 2 {
				return "unit:" + parts[2]
			}
			return "unit:" + defaultLang
		case "min", "max", "scoring":
			return next
		case "bands":
			return "bands"
		}
		return ""
	case "rounding":
		switch next {
		case "mode":
			return "rounding_mode"
		case "parent_uses_rounded":
			return "parent_uses_rounded"
		}
		return "rounding"
	case "lookup":
		switch next {
		case "by":
			return "lookup_by"
		case "default":
			return "lookup_default"
		}
		return "lookups"
	case "when":
		if n, err := strconv.Atoi(strings.TrimSuffix(index, "]")); err == nil {
			return fmt.Sprintf("when:%d", n+1)
		}
		return "when"
	}
	return head
}

// ---------------------------------------------------------------------------
// Encoding

// EncodeDefinitionXLSX writes d as a workbook that DecodeDefinitionXLSX
// reads back to an equal definition. Drafts may be written, but a few
// things the sheets cannot hold are refused with ErrFormat: empty or
// duplicate codes (rows refer to each other by code), weights of children
// a group does not have, conditions mixing forms, and cells longer than
// Excel allows. An empty condition, number block or lookup table is the
// same as none and is read back as none.
func EncodeDefinitionXLSX(w io.Writer, d *Definition) error {
	enc := &xlsxEncoder{d: d, f: excelize.NewFile()}
	defer enc.f.Close()
	enc.langs = definitionLanguages(d)
	enc.checkCodes()
	enc.definitionSheet()
	enc.treeSheets()
	enc.variantsSheet()
	if len(enc.problems) > 0 {
		return fmt.Errorf("%w: cannot write the definition as a workbook: %s", ErrFormat, strings.Join(enc.problems, "; "))
	}
	if err := enc.f.DeleteSheet("Sheet1"); err != nil {
		return fmt.Errorf("%w: writing xlsx: %w", ErrFormat, err)
	}
	// Open on the indicators, where coordinators spend their time.
	if i, err := enc.f.GetSheetIndex(sheetIndicators); err == nil && i >= 0 {
		enc.f.SetActiveSheet(i)
	}
	if enc.err != nil {
		return fmt.Errorf("%w: writing xlsx: %w", ErrFormat, enc.err)
	}
	if _, err := enc.f.WriteTo(w); err != nil {
		return fmt.Errorf("%w: writing xlsx: %w", ErrFormat, err)
	}
	return nil
}

type xlsxEncoder struct {
	d        *Definition
	f        *excelize.File
	langs    []string
	problems []string
	err      error
}

// definitionLanguages lists the languages to give columns: the declared
// ones, the default, then any other language a text uses, so that no text
// is lost from a draft.
func definitionLanguages(d *Definition) []string {
	var langs []string
	addLang := func(l string) {
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	for _, l := range d.Languages {
		addLang(l)
	}
	if d.DefaultLanguage != "" {
		addLang(d.DefaultLanguage)
	}
	var extra []string
	addText := func(t Text) {
		for l := range t {
			if !slices.Contains(langs, l) && !slices.Contains(extra, l) {
				extra = append(extra, l)
			}
		}
	}
	addText(d.Title)
	walkNodes(d.Tree, func(n Node) {
		if g := n.Group; g != nil {
			addText(g.Title)
		}
		if ind := n.Indicator; ind != nil {
			addText(ind.Title)
			addText(ind.Question)
			addText(ind.Guidance)
			if ind.Number != nil {
				addText(ind.Number.Unit)
			}
			for _, o := range ind.Options {
				addText(o.Label)
			}
		}
	})
	for _, v := range d.Variants {
		addText(v.Title)
	}
	slices.Sort(extra)
	return append(langs, extra...)
}

func walkNodes(nodes []Node, fn func(Node)) {
	for _, n := range nodes {
		fn(n)
		if n.Group != nil {
			walkNodes(n.Group.Children, fn)
		}
	}
}

func (enc *xlsxEncoder) problemf(format string, args ...any) {
	enc.problems = append(enc.problems, fmt.Sprintf(format, args...))
}

func (enc *xlsxEncoder) checkCodes() {
	for _, l := range enc.langs {
		if strings.TrimSpace(l) == "" || strings.TrimSpace(l) != l {
			enc.problemf("language tag %q cannot name a column", l)
		}
	}
	seen := map[string]bool{}
	walkNodes(enc.d.Tree, func(n Node) {
		code := n.Code()
		switch {
		case n.Group != nil && n.Indicator != nil:
			enc.problemf("node %q holds both a group and an indicator", code)
		case n.Group == nil && n.Indicator == nil:
			enc.problemf("an empty node (neither group nor indicator) has no row")
		case strings.TrimSpace(code) == "" || strings.TrimSpace(code) != code:
			enc.problemf("code %q cannot be referred to from other rows", code)
		case seen[code]:
			enc.problemf("duplicate code %q", code)
		}
		seen[code] = true
	})
}

// sheet writes one sheet: a bold, frozen header row, then the rows. Nil
// cells are left empty.
func (enc *xlsxEncoder) sheet(spec sheetSpec, header []string, rows [][]any) {
	f := enc.f
	if _, err := f.NewSheet(spec.name); err != nil {
		enc.err = err
		return
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		enc.err = err
		return
	}
	asText, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		enc.err = err
		return
	}
	for j, h := range header {
		col, _ := excelize.ColumnNumberToName(j + 1)
		field, _, _ := strings.Cut(h, ":")
		width := 14.0
		switch {
		case slices.Contains(spec.texts, field):
			width = 36
		case field == "condition" || field == "areas" || field == "weights" || field == "value":
			width = 28
		}
		enc.check(f.SetColWidth(spec.name, col, col, width))
		if slices.Contains(spec.codeLike, h) || field == spec.numbered {
			enc.check(f.SetColStyle(spec.name, col, asText))
		}
		if choices, ok := xlsxChoices[h]; ok {
			enc.dropList(spec.name, col, choices)
		}
	}
	all := append([][]any{toAny(header)}, rows...)
	for i, row := range all {
		for j, v := range row {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if s, ok := v.(string); ok && len(utf16.Encode([]rune(s))) > maxCellUnits {
				enc.problemf("%s!%s: text longer than the %d characters a cell holds", spec.name, cell, maxCellUnits)
				continue
			}
			enc.check(f.SetCellValue(spec.name, cell, v))
		}
	}
	enc.check(f.SetRowStyle(spec.name, 1, 1, bold))
	enc.check(f.SetPanes(spec.name, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}))
}

// xlsxChoices are the values of the keyword columns. The writer offers them
// as drop-down lists so that a person picks rather than types them.
var xlsxChoices = map[string][]string{
	"type":                {string(SingleChoice), string(YesNo), string(NumberType), string(TextType)},
	"aggregation":         {string(AggregateMean), string(AggregateWeighted), string(AggregateLookup), string(AggregateMin), string(AggregateMax)},
	"missing":             {string(MissingSkip), string(MissingZero), string(MissingRequire)},
	"scoring":             {string(ScoreByBands), string(ScoreDirect)},
	"lookup_by":           {string(LookupByOption), string(LookupByScore)},
	"rounding_mode":       {string(RoundHalfUp), string(RoundHalfEven)},
	"source_required":     {"yes", "no"},
	"scored":              {"yes", "no"},
	"parent_uses_rounded": {"yes", "no"},
}

// dropList offers choices in a column below the header. It warns rather
// than refuses, so that a value pasted from elsewhere is kept for the
// decoder to report with its row.
func (enc *xlsxEncoder) dropList(sheet, col string, choices []string) {
	dv := excelize.NewDataValidation(true)
	dv.SetSqref(fmt.Sprintf("%s2:%s%d", col, col, excelize.TotalRows))
	enc.check(dv.SetDropList(choices))
	dv.SetError(excelize.DataValidationErrorStyleWarning, "Unknown value", "Expected one of: "+strings.Join(choices, ", "))
	enc.check(enc.f.AddDataValidation(sheet, dv))
}

func (enc *xlsxEncoder) check(err error) {
	if err != nil && enc.err == nil {
		enc.err = err
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// langColumns returns field:<lang> for every language of the definition.
func (enc *xlsxEncoder) langColumns(field string) []string {
	cols := make([]string, len(enc.langs))
	for i, l := range enc.langs {
		cols[i] = field + ":" + l
	}
	return cols
}

// row builds a row from named values; texts are expanded per language.
type rowValues map[string]any

func (enc *xlsxEncoder) rowFor(header []string, vals rowValues, texts map[string]Text) []any {
	row := make([]any, len(header))
	for j, h := range header {
		if field, lang, ok := strings.Cut(h, ":"); ok {
			if t, has := texts[field]; has {
				if s, ok := t[lang]; ok && s != "" {
					row[j] = s
				}
				continue
			}
		}
		row[j] = vals[h]
	}
	return row
}

func (enc *xlsxEncoder) definitionSheet() {
	d := enc.d
	rows := [][]any{{"code", nilIfEmpty(d.Code)}}
	for _, l := range enc.langs {
		rows = append(rows, []any{"title:" + l, nilIfEmpty(d.Title[l])})
	}
	rows = append(rows,
		[]any{"default_language", nilIfEmpty(d.DefaultLanguage)},
		[]any{"languages", nilIfEmpty(formatList(d.Languages))})
	enc.sheet(xlsxSheets[sheetIndex(sheetDefinition)], []string{"key", "value"}, rows)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// number returns a cell value for a number: a number cell, so that
// spreadsheets compute with it, when Excel's 15 significant digits hold it
// exactly; otherwise its shortest exact text (1/3 written out, NaN and
// infinities), which the decoder reads the same way, so nothing is lost.
func number(p *float64) any {
	if p == nil {
		return nil
	}
	if back, err := strconv.ParseFloat(strconv.FormatFloat(*p, 'g', 15, 64), 64); err == nil && back == *p && isFinite(*p) {
		return *p
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

func yesNoCell(b bool) any {
	if b {
		return "yes"
	}
	return "no"
}

func roundingValues(vals rowValues, r *Rounding) {
	if r == nil {
		return
	}
	vals["rounding"] = r.Decimals
	vals["rounding_mode"] = nilIfEmpty(string(r.Mode))
	if r.ParentUsesRounded {
		vals["parent_uses_rounded"] = "yes"
	}
}

func ruleValues(vals rowValues, r Rule) {
	vals["aggregation"] = nilIfEmpty(string(r.Aggregation))
	vals["missing"] = nilIfEmpty(string(r.Missing))
	if r.MinPresent != 0 {
		vals["min_present"] = r.MinPresent
	}
	roundingValues(vals, r.Rounding)
}

func (enc *xlsxEncoder) treeSheets() {
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	groupHeader := cat([]string{"code", "parent", "weight", "level"}, enc.langColumns("title"),
		[]string{"aggregation", "missing", "min_present", "lookup_by", "lookup_default", "rounding", "rounding_mode", "parent_uses_rounded"})
	indHeader := cat([]string{"code", "parent", "weight", "type"},
		enc.langColumns("title"), enc.langColumns("question"), enc.langColumns("guidance"),
		[]string{"source_required", "scored", "condition"}, enc.langColumns("unit"),
		[]string{"min", "max", "scoring", "rounding", "rounding_mode", "parent_uses_rounded"})
	optHeader := cat([]string{"indicator", "code", "score"}, enc.langColumns("label"))
	bandHeader := []string{"indicator", "min", "over", "max", "under", "score"}

	var groupRows, indRows, optRows, bandRows [][]any
	// Lookup rows wait for the widest row: their score column comes after
	// as many when:<n> columns as it has values.
	type lookupRow struct {
		group string
		row   LookupRow
	}
	var lookups []lookupRow
	maxWhen := 1
	var visit func(nodes []Node, parent *Group)
	visit = func(nodes []Node, parent *Group) {
		weights := enc.weightsOf(parent)
		for _, n := range nodes {
			vals := rowValues{"code": n.Code()}
			if parent != nil {
				vals["parent"] = parent.Code
				vals["weight"] = number(weights[n.Code()])
			}
			if g := n.Group; g != nil && n.Indicator == nil {
				vals["level"] = nilIfEmpty(g.Level)
				ruleValues(vals, g.Rule)
				if lk := g.Lookup; lk != nil {
					vals["lookup_by"] = nilIfEmpty(string(lk.By))
					vals["lookup_default"] = number(lk.Default)
					for _, r := range lk.Rows {
						lookups = append(lookups, lookupRow{g.Code, r})
						maxWhen = max(maxWhen, len(r.When))
					}
				}
				groupRows = append(groupRows, enc.rowFor(groupHeader, vals, map[string]Text{"title": g.Title}))
				visit(g.Children, g)
				continue
			}
			ind := n.Indicator
			if ind == nil {
				continue
			}
			vals["type"] = nilIfEmpty(string(ind.Type))
			if ind.SourceRequired {
				vals["source_required"] = "yes"
			}
			if ind.Scored != nil {
				vals["scored"] = yesNoCell(*ind.Scored)
			}
			if ind.Condition != nil {
				expr, err := FormatCondition(ind.Condition)
				if err != nil {
					enc.problemf("indicator %q: %v", ind.Code, err)
				}
				vals["condition"] = nilIfEmpty(expr)
			}
			texts := map[string]Text{"title": ind.Title, "question": ind.Question, "guidance": ind.Guidance, "unit": nil}
			if num := ind.Number; num != nil {
				texts["unit"] = num.Unit
				vals["min"], vals["max"] = number(num.Min), number(num.Max)
				vals["scoring"] = nilIfEmpty(string(num.Scoring))
				for _, b := range num.Bands {
					bandRows = append(bandRows, enc.rowFor(bandHeader, rowValues{
						"indicator": ind.Code, "min": number(b.Min), "over": number(b.Over),
						"max": number(b.Max), "under": number(b.Under), "score": number(b.Score),
					}, nil))
				}
			}
			roundingValues(vals, ind.Rounding)
			indRows = append(indRows, enc.rowFor(indHeader, vals, texts))
			for _, o := range ind.Options {
				optRows = append(optRows, enc.rowFor(optHeader, rowValues{"indicator": ind.Code, "code": o.Code, "score": number(o.Score)}, map[string]Text{"label": o.Label}))
			}
		}
	}
	visit(enc.d.Tree, nil)

	lookupHeader := []string{"group"}
	for k := 1; k <= maxWhen; k++ {
		lookupHeader = append(lookupHeader, fmt.Sprintf("when:%d", k))
	}
	lookupHeader = append(lookupHeader, "score")
	lookupRows := make([][]any, len(lookups))
	for i, lr := range lookups {
		row := make([]any, len(lookupHeader))
		row[0] = lr.group
		for k, key := range lr.row.When {
			row[1+k] = nilIfEmpty(string(key))
		}
		row[len(row)-1] = number(lr.row.Score)
		lookupRows[i] = row
	}
	spec := func(name string) sheetSpec { return xlsxSheets[sheetIndex(name)] }
	enc.sheet(spec(sheetGroups), groupHeader, groupRows)
	enc.sheet(spec(sheetIndicators), indHeader, indRows)
	enc.sheet(spec(sheetOptions), optHeader, optRows)
	enc.sheet(spec(sheetBands), bandHeader, bandRows)
	enc.sheet(spec(sheetLookups), lookupHeader, lookupRows)
}

// weightsOf returns a group's weights by child code. The sheets give each
// child its weight on its own row, so weights of codes that are not
// children, duplicates and weights without a value cannot be written.
func (enc *xlsxEncoder) weightsOf(g *Group) map[string]*float64 {
	if g == nil || len(g.Weights) == 0 {
		return nil
	}
	out := map[string]*float64{}
	for _, w := range g.Weights {
		isChild := slices.ContainsFunc(g.Children, func(n Node) bool { return n.Code() == w.Child })
		switch _, dup := out[w.Child]; {
		case !isChild:
			enc.problemf("group %q: weight for %q, which is not one of its children", g.Code, w.Child)
		case dup:
			enc.problemf("group %q: two weights for %q", g.Code, w.Child)
		case w.Weight == nil:
			enc.problemf("group %q: weight for %q has no value", g.Code, w.Child)
		}
		out[w.Child] = w.Weight
	}
	return out
}

func (enc *xlsxEncoder) variantsSheet() {
	header := slices.Concat([]string{"name"}, enc.langColumns("title"), xlsxSheets[sheetIndex(sheetVariants)].plain[1:])
	var rows [][]any
	for _, v := range enc.d.Variants {
		vals := rowValues{"name": nilIfEmpty(v.Name), "areas": nilIfEmpty(formatList(v.Areas))}
		ruleValues(vals, v.Rule)
		ws, err := formatWeights(v.Weights)
		if err != nil {
			enc.problemf("variant %q: %v", v.Name, err)
		}
		vals["weights"] = nilIfEmpty(ws)
		if v.Lookup != nil {
			enc.problemf("variant %q: variants have no lookup table", v.Name)
		}
		rows = append(rows, enc.rowFor(header, vals, map[string]Text{"title": v.Title}))
	}
	enc.sheet(xlsxSheets[sheetIndex(sheetVariants)], header, rows)
}

// ---------------------------------------------------------------------------
// Conditions and lists as cell text

// Conditions are written in a cell as an expression:
//
//	expr   = term { "or" term }
//	term   = factor { "and" factor }
//	factor = code "in" "[" [ code { "," code } ] "]"
//	       | "(" expr ")"
//	       | ("all_of" | "any_of") "(" expr { "," expr } ")"
//
// "A in [x, y]" is a test on one indicator, "and" chains become all_of and
// "or" chains any_of; "and" binds tighter than "or". Parentheses keep their
// nesting, so that every Condition is written and read back unchanged; the
// function forms exist for the rare all_of or any_of of a single condition.
// Keywords are case-insensitive. A code holding spaces, any of ,[]()"= or
// spelt like a keyword is written in double quotes with Go escapes.

// ParseCondition reads a condition expression; see FormatCondition. Errors
// give the character position.
func ParseCondition(expr string) (*Condition, error) {
	if !utf8.ValidString(expr) {
		return nil, errors.New("the condition is not valid UTF-8")
	}
	p := &condParser{toks: tokenize(expr)}
	if p.err() != nil {
		return nil, p.err()
	}
	c, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEnd {
		return nil, fmt.Errorf("unexpected %s at character %d: join conditions with and / or", t, t.pos)
	}
	return c, nil
}

// FormatCondition writes c as an expression ParseCondition reads back to an
// equal condition. A condition (or part) using more than one form, or none,
// cannot be written.
func FormatCondition(c *Condition) (string, error) {
	if c == nil || (c.Indicator == "" && len(c.In) == 0 && len(c.AllOf) == 0 && len(c.AnyOf) == 0) {
		return "", nil
	}
	return formatCond(*c, false)
}

func formatCond(c Condition, operand bool) (string, error) {
	leaf := c.Indicator != "" || len(c.In) > 0
	forms := 0
	for _, used := range []bool{leaf, len(c.AllOf) > 0, len(c.AnyOf) > 0} {
		if used {
			forms++
		}
	}
	if forms != 1 {
		return "", fmt.Errorf("a condition must use exactly one of indicator/in, all_of and any_of to be written as an expression")
	}
	if leaf {
		opts := make([]string, len(c.In))
		for i, o := range c.In {
			opts[i] = quoteCode(o)
		}
		return quoteCode(c.Indicator) + " in [" + strings.Join(opts, ", ") + "]", nil
	}
	subs, op, fn := c.AllOf, " and ", "all_of"
	if len(c.AnyOf) > 0 {
		subs, op, fn = c.AnyOf, " or ", "any_of"
	}
	parts := make([]string, len(subs))
	for i, s := range subs {
		var err error
		if parts[i], err = formatCond(s, true); err != nil {
			return "", err
		}
	}
	if len(subs) == 1 {
		return fn + "(" + parts[0] + ")", nil
	}
	s := strings.Join(parts, op)
	if operand {
		return "(" + s + ")", nil
	}
	return s, nil
}

func quoteCode(s string) string {
	if s == "" || strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`,[]()"=`, r)
	}) >= 0 || isKeyword(s) {
		return strconv.Quote(s)
	}
	return s
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "in", "all_of", "any_of":
		return true
	}
	return false
}

type tokKind uint8

const (
	tokEnd tokKind = iota
	tokWord
	tokQuoted
	tokPunct
	tokBad
)

type token struct {
	kind tokKind
	text string
	pos  int // 1-based character position
}

func (t token) String() string {
	switch t.kind {
	case tokEnd:
		return "end of text"
	case tokQuoted:
		return strconv.Quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// tokenize splits cell text into words, quoted strings and the
// punctuation ,[]()=. A bad token ends the list.
func tokenize(s string) []token {
	var toks []token
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case strings.ContainsRune(",[]()=", r):
			toks = append(toks, token{kind: tokPunct, text: string(r), pos: i + 1})
			i++
		case r == '"':
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' {
					j++
				}
			}
			if j >= len(rs) {
				return append(toks, token{kind: tokBad, text: "unterminated quoted code", pos: i + 1})
			}
			text, err := strconv.Unquote(string(rs[i : j+1]))
			// An escape such as \xff would make a code of invalid UTF-8, which no cell, JSON
			// document or export can carry (found by FuzzParseCondition).
			if err == nil && !utf8.ValidString(text) {
				err = errors.New("invalid UTF-8")
			}
			if err != nil {
				return append(toks, token{kind: tokBad, text: "bad quoted code " + string(rs[i:j+1]), pos: i + 1})
			}
			toks = append(toks, token{kind: tokQuoted, text: text, pos: i + 1})
			i = j + 1
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && !strings.ContainsRune(`,[]()="`, rs[j]) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: string(rs[i:j]), pos: i + 1})
			i = j
		}
	}
	return append(toks, token{kind: tokEnd, pos: len(rs) + 1})
}

type condParser struct {
	toks []token
	i    int
}

func (p *condParser) err() error {
	for _, t := range p.toks {
		if t.kind == tokBad {
			return fmt.Errorf("%s at character %d", t.text, t.pos)
		}
	}
	return nil
}

func (p *condParser) peek() token { return p.toks[p.i] }

func (p *condParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEnd {
		p.i++
	}
	return t
}

func (p *condParser) isWord(t token, kw string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

func (p *condParser) isPunct(t token, s string) bool {
	return t.kind == tokPunct && t.text == s
}

func (p *condParser) expect(s string) error {
	if t := p.next(); !p.isPunct(t, s) {
		return fmt.Errorf("expected %q at character %d, found %s", s, t.pos, t)
	}
	return nil
}

func (p *condParser) expr() (*Condition, error) {
	return p.chain("or", p.term, func(cs []Condition) *Condition { return &Condition{AnyOf: cs} })
}

func (p *condParser) term() (*Condition, error) {
	return p.chain("and", p.factor, func(cs []Condition) *Condition { return &Condition{AllOf: cs} })
}

func (p *condParser) chain(op string, operand func() (*Condition, error), join func([]Condition) *Condition) (*Condition, error) {
	first, err := operand()
	if err != nil {
		return nil, err
	}
	if !p.isWord(p.peek(), op) {
		return first, nil
	}
	cs := []Condition{*first}
	for p.isWord(p.peek(), op) {
		p.next()
		c, err := operand()
		if err != nil {
			return nil, err
		}
		cs = append(cs, *c)
	}
	return join(cs), nil
}

func (p *condParser) factor() (*Condition, error) {
	t := p.next()
	switch {
	case p.isPunct(t, "("):
		c, err := p.expr()
		if err != nil {
			return nil, err
		}
		return c, p.expect(")")
	case (p.isWord(t, "all_of") || p.isWord(t, "any_of")) && p.isPunct(p.peek(), "("):
		p.next()
		var cs []Condition
		for {
			c, err := p.expr()
			if err != nil {
				return nil, err
			}
			cs = append(cs, *c)
			if !p.isPunct(p.peek(), ",") {
				break
			}
			p.next()
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		if strings.EqualFold(t.text, "all_of") {
			return &Condition{AllOf: cs}, nil
		}
		return &Condition{AnyOf: cs}, nil
	case t.kind == tokQuoted && t.text == "":
		// "" would read as a test on no indicator, which no questionnaire holds and which
		// writes back as no condition at all (found by FuzzParseCondition).
		return nil, fmt.Errorf("an indicator code cannot be empty, at character %d", t.pos)
	case t.kind == tokWord && !isKeyword(t.text), t.kind == tokQuoted:
		c := &Condition{Indicator: t.text}
		if in := p.next(); !p.isWord(in, "in") {
			return nil, fmt.Errorf("expected \"in\" after %s at character %d, found %s", t, in.pos, in)
		}
		if err := p.expect("["); err != nil {
			return nil, err
		}
		if p.isPunct(p.peek(), "]") {
			p.next()
			return c, nil
		}
		for {
			o := p.next()
			if o.kind != tokQuoted && o.kind != tokWord {
				return nil, fmt.Errorf("expected an option code at character %d, found %s", o.pos, o)
			}
			if o.text == "" {
				return nil, fmt.Errorf("an option code cannot be empty, at character %d", o.pos)
			}
			c.In = append(c.In, o.text)
			if sep := p.next(); p.isPunct(sep, "]") {
				return c, nil
			} else if !p.isPunct(sep, ",") {
				return nil, fmt.Errorf("expected \",\" or \"]\" at character %d, found %s", sep.pos, sep)
			}
		}
	}
	return nil, fmt.Errorf("expected an indicator code or \"(\" at character %d, found %s", t.pos, t)
}

// parseList reads a comma-separated list of codes ("en, fr"); items may be
// quoted like codes in conditions.
func parseList(s string) ([]string, error) {
	var out []string
	err := parseItems(s, func(p *condParser) error {
		t := p.next()
		if t.kind != tokWord && t.kind != tokQuoted {
			return fmt.Errorf("expected a code at character %d, found %s", t.pos, t)
		}
		out = append(out, t.text)
		return nil
	})
	return out, err
}

// parseWeights reads "LMM = 0.5, FR = 0.5".
func parseWeights(s string) ([]Weight, error) {
	var out []Weight
	err := parseItems(s, func(p *condParser) error {
		t := p.next()
		if t.kind != tokWord && t.kind != tokQuoted {
			return fmt.Errorf("expected an area code at character %d, found %s", t.pos, t)
		}
		if err := p.expect("="); err != nil {
			return err
		}
		v := p.next()
		f, err := strconv.ParseFloat(v.text, 64)
		if v.kind != tokWord || err != nil {
			return fmt.Errorf("expected a weight at character %d, found %s", v.pos, v)
		}
		out = append(out, Weight{Child: t.text, Weight: &f})
		return nil
	})
	return out, err
}

func parseItems(s string, item func(*condParser) error) error {
	p := &condParser{toks: tokenize(s)}
	if err := p.err(); err != nil {
		return err
	}
	if p.peek().kind == tokEnd {
		return nil
	}
	for {
		if err := item(p); err != nil {
			return err
		}
		switch t := p.next(); {
		case t.kind == tokEnd:
			return nil
		case !p.isPunct(t, ","):
			return fmt.Errorf("expected \",\" at character %d, found %s", t.pos, t)
		}
	}
}

func formatList(items []string) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = quoteCode(s)
	}
	return strings.Join(parts, ", ")
}

func formatWeights(ws []Weight) (string, error) {
	parts := make([]string, len(ws))
	for i, w := range ws {
		if w.Weight == nil {
			return "", fmt.Errorf("weight for %q has no value", w.Child)
		}
		parts[i] = quoteCode(w.Child) + " = " + strconv.FormatFloat(*w.Weight, 'g', -1, 64)
	}
	return strings.Join(parts, ", "), nil
}
