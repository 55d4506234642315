package questionnaire

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ChangeKind says what happened to a subject between two versions.
type ChangeKind string

// Change kinds.
const (
	ChangeAdded   ChangeKind = "added"
	ChangeRemoved ChangeKind = "removed"
	// ChangeMoved means the node has a new parent group.
	ChangeMoved ChangeKind = "moved"
	// ChangeModified means Field has a new value.
	ChangeModified ChangeKind = "changed"
)

// Subject names what a change is about.
type Subject string

// Subjects.
const (
	SubjectDefinition Subject = "definition"
	SubjectGroup      Subject = "group"
	SubjectIndicator  Subject = "indicator"
	SubjectVariant    Subject = "variant"
)

// Change is one difference between two versions of a questionnaire.
type Change struct {
	Kind    ChangeKind `json:"kind"`
	Subject Subject    `json:"subject"`
	// Code is the group or indicator code, or the variant name; empty for
	// the definition itself.
	Code string `json:"code,omitempty"`
	// Field names what changed in file-format terms: "title.fr",
	// "options[partial].score", "number.bands", "weights", and so on.
	// Added and removed options are ChangeAdded and ChangeRemoved with
	// Field "options[code]" on their indicator.
	Field string `json:"field,omitempty"`
	// Before and After render the old and new values for people; they are
	// not meant to be parsed.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// Diff lists what changed from version a to version b, matching groups and
// indicators by code and variants by name. The order is deterministic:
// definition fields, then nodes in b's tree order, then nodes removed in
// a's tree order, then variants likewise.
func Diff(a, b *Definition) []Change {
	var df differ
	df.field(SubjectDefinition, "", "code", a.Code, b.Code)
	df.text(SubjectDefinition, "", "title", a.Title, b.Title)
	df.field(SubjectDefinition, "", "default_language", a.DefaultLanguage, b.DefaultLanguage)
	df.field(SubjectDefinition, "", "languages", strings.Join(a.Languages, ", "), strings.Join(b.Languages, ", "))

	before, after := flatten(a), flatten(b)
	for _, nb := range after.order {
		na, ok := before.byCode[nb.code]
		if !ok {
			df.add(Change{Kind: ChangeAdded, Subject: nb.subject(), Code: nb.code, After: parentName(nb.parent)})
			continue
		}
		df.node(na, nb)
	}
	for _, na := range before.order {
		if _, ok := after.byCode[na.code]; !ok {
			df.add(Change{Kind: ChangeRemoved, Subject: na.subject(), Code: na.code, Before: parentName(na.parent)})
		}
	}

	variantsA := map[string]*Variant{}
	for i := range a.Variants {
		variantsA[a.Variants[i].Name] = &a.Variants[i]
	}
	variantsB := map[string]bool{}
	for i := range b.Variants {
		vb := &b.Variants[i]
		variantsB[vb.Name] = true
		va, ok := variantsA[vb.Name]
		if !ok {
			df.add(Change{Kind: ChangeAdded, Subject: SubjectVariant, Code: vb.Name, After: strings.Join(vb.Areas, ", ")})
			continue
		}
		df.text(SubjectVariant, vb.Name, "title", va.Title, vb.Title)
		df.field(SubjectVariant, vb.Name, "areas", strings.Join(va.Areas, ", "), strings.Join(vb.Areas, ", "))
		df.rule(SubjectVariant, vb.Name, va.Rule, vb.Rule, MissingRequire)
	}
	for _, va := range a.Variants {
		if !variantsB[va.Name] {
			df.add(Change{Kind: ChangeRemoved, Subject: SubjectVariant, Code: va.Name, Before: strings.Join(va.Areas, ", ")})
		}
	}
	return df.changes
}

type differ struct {
	changes []Change
}

func (df *differ) add(c Change) { df.changes = append(df.changes, c) }

func (df *differ) field(s Subject, code, field, before, after string) {
	if before != after {
		df.add(Change{Kind: ChangeModified, Subject: s, Code: code, Field: field, Before: before, After: after})
	}
}

// text reports each language separately, since translators work per
// language.
func (df *differ) text(s Subject, code, field string, before, after Text) {
	langs := sortedKeys(before)
	for _, l := range sortedKeys(after) {
		if _, ok := before[l]; !ok {
			langs = append(langs, l)
		}
	}
	slices.Sort(langs)
	for _, l := range langs {
		df.field(s, code, field+"."+l, before[l], after[l])
	}
}

type flatNode struct {
	code   string
	parent string
	group  *Group
	ind    *Indicator
}

func (n *flatNode) subject() Subject {
	if n.group != nil {
		return SubjectGroup
	}
	return SubjectIndicator
}

type flatTree struct {
	order  []*flatNode
	byCode map[string]*flatNode
}

func flatten(d *Definition) flatTree {
	t := flatTree{byCode: map[string]*flatNode{}}
	var walk func(nodes []Node, parent string)
	walk = func(nodes []Node, parent string) {
		for _, n := range nodes {
			fn := &flatNode{code: n.Code(), parent: parent, group: n.Group, ind: n.Indicator}
			if n.Group == nil && n.Indicator == nil {
				continue
			}
			if n.Group != nil {
				fn.ind = nil
			}
			if _, dup := t.byCode[fn.code]; !dup {
				t.byCode[fn.code] = fn
				t.order = append(t.order, fn)
			}
			if n.Group != nil {
				walk(n.Group.Children, fn.code)
			}
		}
	}
	walk(d.Tree, "")
	return t
}

func parentName(code string) string {
	if code == "" {
		return "(top level)"
	}
	return code
}

func (df *differ) node(a, b *flatNode) {
	if a.subject() != b.subject() {
		df.add(Change{Kind: ChangeModified, Subject: b.subject(), Code: b.code, Field: "kind", Before: string(a.subject()), After: string(b.subject())})
		return
	}
	if a.parent != b.parent {
		df.add(Change{Kind: ChangeMoved, Subject: b.subject(), Code: b.code, Before: parentName(a.parent), After: parentName(b.parent)})
	}
	if b.group != nil {
		df.group(a.group, b.group)
	} else {
		df.indicator(a.ind, b.ind)
	}
}

func (df *differ) group(a, b *Group) {
	s, code := SubjectGroup, b.Code
	df.text(s, code, "title", a.Title, b.Title)
	df.field(s, code, "level", a.Level, b.Level)
	// Lookup rows refer to children by position, so the order matters.
	df.field(s, code, "children", childCodes(a), childCodes(b))
	df.rule(s, code, a.Rule, b.Rule, MissingSkip)
}

func childCodes(g *Group) string {
	codes := make([]string, len(g.Children))
	for i, c := range g.Children {
		codes[i] = c.Code()
	}
	return strings.Join(codes, ", ")
}

func (df *differ) rule(s Subject, code string, a, b Rule, defaultMissing MissingRule) {
	df.field(s, code, "aggregation", string(a.EffectiveAggregation()), string(b.EffectiveAggregation()))
	df.field(s, code, "weights", weightsString(a.Weights), weightsString(b.Weights))
	df.field(s, code, "lookup", lookupString(a.Lookup), lookupString(b.Lookup))
	missing := func(m MissingRule) string {
		if m == "" {
			m = defaultMissing
		}
		return string(m)
	}
	df.field(s, code, "missing", missing(a.Missing), missing(b.Missing))
	df.field(s, code, "min_present", strconv.Itoa(a.MinPresent), strconv.Itoa(b.MinPresent))
	df.field(s, code, "rounding", roundingString(a.Rounding), roundingString(b.Rounding))
}

func (df *differ) indicator(a, b *Indicator) {
	s, code := SubjectIndicator, b.Code
	df.text(s, code, "title", a.Title, b.Title)
	df.text(s, code, "question", a.Question, b.Question)
	df.text(s, code, "guidance", a.Guidance, b.Guidance)
	df.field(s, code, "type", string(a.Type), string(b.Type))
	df.options(code, effectiveOptions(a), effectiveOptions(b))
	var na, nb Number
	if a.Number != nil {
		na = *a.Number
	}
	if b.Number != nil {
		nb = *b.Number
	}
	df.text(s, code, "number.unit", na.Unit, nb.Unit)
	df.field(s, code, "number.min", floatString(na.Min), floatString(nb.Min))
	df.field(s, code, "number.max", floatString(na.Max), floatString(nb.Max))
	df.field(s, code, "number.scoring", string(na.Scoring), string(nb.Scoring))
	df.field(s, code, "number.bands", bandsString(na.Bands), bandsString(nb.Bands))
	df.field(s, code, "condition", conditionString(a.Condition), conditionString(b.Condition))
	df.field(s, code, "source_required", strconv.FormatBool(a.SourceRequired), strconv.FormatBool(b.SourceRequired))
	df.field(s, code, "scored", strconv.FormatBool(a.IsScored()), strconv.FormatBool(b.IsScored()))
	df.field(s, code, "rounding", roundingString(a.Rounding), roundingString(b.Rounding))
}

func (df *differ) options(code string, a, b []Option) {
	find := func(opts []Option, c string) *Option {
		for i := range opts {
			if opts[i].Code == c {
				return &opts[i]
			}
		}
		return nil
	}
	for _, ob := range b {
		f := "options[" + ob.Code + "]"
		oa := find(a, ob.Code)
		if oa == nil {
			df.add(Change{Kind: ChangeAdded, Subject: SubjectIndicator, Code: code, Field: f, After: floatString(ob.Score)})
			continue
		}
		df.field(SubjectIndicator, code, f+".score", floatString(oa.Score), floatString(ob.Score))
		df.text(SubjectIndicator, code, f+".label", oa.Label, ob.Label)
	}
	for _, oa := range a {
		if find(b, oa.Code) == nil {
			df.add(Change{Kind: ChangeRemoved, Subject: SubjectIndicator, Code: code, Field: "options[" + oa.Code + "]", Before: floatString(oa.Score)})
		}
	}
}

func floatString(f *float64) string {
	if f == nil {
		return ""
	}
	return formatScore(*f)
}

func weightsString(ws []Weight) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Child + "=" + floatString(w.Weight)
	}
	return strings.Join(parts, ", ")
}

func lookupString(lk *Lookup) string {
	if lk == nil {
		return ""
	}
	by := lk.By
	if by == "" {
		by = LookupByOption
	}
	parts := []string{"by " + string(by)}
	for _, r := range lk.Rows {
		keys := make([]string, len(r.When))
		for i, k := range r.When {
			keys[i] = string(k)
		}
		parts = append(parts, "("+strings.Join(keys, ", ")+") -> "+floatString(r.Score))
	}
	if lk.Default != nil {
		parts = append(parts, "default "+floatString(lk.Default))
	}
	return strings.Join(parts, "; ")
}

func roundingString(r *Rounding) string {
	if r == nil {
		return "none"
	}
	mode := r.Mode
	if mode == "" {
		mode = RoundHalfUp
	}
	s := fmt.Sprintf("%d decimals %s", r.Decimals, mode)
	if r.ParentUsesRounded {
		s += ", parent uses rounded"
	}
	return s
}

func bandsString(bands []Band) string {
	parts := make([]string, len(bands))
	for i, b := range bands {
		iv := bandInterval(b, i)
		open, closing := "(", ")"
		if iv.loInc && !math.IsInf(iv.lo, 0) {
			open = "["
		}
		if iv.hiInc && !math.IsInf(iv.hi, 0) {
			closing = "]"
		}
		parts[i] = fmt.Sprintf("%s%v, %v%s -> %s", open, iv.lo, iv.hi, closing, floatString(b.Score))
	}
	return strings.Join(parts, "; ")
}

func conditionString(c *Condition) string {
	if c == nil {
		return ""
	}
	var parts []string
	if c.Indicator != "" || len(c.In) > 0 {
		parts = append(parts, c.Indicator+" in ["+strings.Join(c.In, ", ")+"]")
	}
	combine := func(name string, subs []Condition) {
		if len(subs) == 0 {
			return
		}
		inner := make([]string, len(subs))
		for i := range subs {
			inner[i] = conditionString(&subs[i])
		}
		parts = append(parts, name+"("+strings.Join(inner, "; ")+")")
	}
	combine("all_of", c.AllOf)
	combine("any_of", c.AnyOf)
	return strings.Join(parts, " ")
}
