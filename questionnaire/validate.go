package questionnaire

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// weightTolerance is how far the weights of a group may sum away from 1:
// room for decimal fractions such as 1/3 written out, no room for mistakes.
const weightTolerance = 1e-9

// maxLookupCombinations bounds the cartesian product Validate enumerates to
// prove a lookup table complete; larger tables must carry a default.
const maxLookupCombinations = 100_000

// maxLookupWork bounds combinations times rows, so that validating an
// uploaded definition stays fast whatever its size.
const maxLookupWork = 5_000_000

// rowKey joins a row's cells with a separator no code contains (codes have
// no control characters).
func rowKey(when []LookupKey) string {
	parts := make([]string, len(when))
	for i, k := range when {
		parts[i] = string(k)
	}
	return strings.Join(parts, "\x00")
}

// maxRoundingDecimals keeps rounding within what a float64 represents.
const maxRoundingDecimals = 10

// Validate reports every problem of the definition at once, in a
// deterministic order. An empty result means the definition can be
// compiled, published and scored.
func (d *Definition) Validate() []Problem {
	v := &validator{d: d, nodes: map[string]*vnode{}}
	v.definition()
	return v.problems
}

type validator struct {
	d        *Definition
	langs    map[string]bool
	problems []Problem
	// nodes holds the first node seen with each code.
	nodes map[string]*vnode
	// indicators lists indicator codes in tree order, for a deterministic
	// search of condition cycles.
	indicators []string
}

type vnode struct {
	path  string
	group *Group
	ind   *Indicator
}

func (v *validator) addf(path, code, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) definition() {
	d := v.d
	if strings.TrimSpace(d.Code) == "" {
		v.addf("code", "", "must not be empty")
	}
	if d.DefaultLanguage == "" {
		v.addf("default_language", "", "must not be empty")
	}
	v.langs = map[string]bool{}
	if len(d.Languages) == 0 {
		v.langs[d.DefaultLanguage] = true
	}
	for i, l := range d.Languages {
		p := fmt.Sprintf("languages[%d]", i)
		switch {
		case strings.TrimSpace(l) == "":
			v.addf(p, "", "must not be empty")
		case v.langs[l]:
			v.addf(p, "", "duplicate language %q", l)
		}
		v.langs[l] = true
	}
	if len(d.Languages) > 0 && d.DefaultLanguage != "" && !v.langs[d.DefaultLanguage] {
		v.addf("languages", "", "must include the default language %q", d.DefaultLanguage)
	}
	v.text("title", "", d.Title, true)
	if len(d.Tree) == 0 {
		v.addf("tree", "", "must hold at least one group")
	}
	v.collect("tree", d.Tree)
	for i, n := range d.Tree {
		p := fmt.Sprintf("tree[%d]", i)
		if n.Group == nil && n.Indicator != nil {
			v.addf(p, n.Indicator.Code, "top-level nodes must be groups (policy areas)")
		}
		v.node(p, n)
	}
	v.conditionCycles()
	v.variants()
}

// text checks that t uses declared languages only and, when required, has
// the default language, which is the fallback of Text.In.
func (v *validator) text(path, code string, t Text, required bool) {
	if required && strings.TrimSpace(t[v.d.DefaultLanguage]) == "" {
		v.addf(path, code, "missing text in the default language %q", v.d.DefaultLanguage)
	}
	for _, l := range sortedKeys(t) {
		if !v.langs[l] {
			v.addf(path+"."+l, code, "unknown language %q: not in languages", l)
		}
	}
}

func sortedKeys(t Text) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (v *validator) code(path, code string) {
	switch {
	case code == "":
		v.addf(path, "", "must not be empty")
	case code == string(AnyValue):
		v.addf(path, code, "%q is reserved for lookup rows", code)
	case strings.IndexFunc(code, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		v.addf(path, code, "must not contain spaces or control characters")
	}
}

// collect registers every code before the nodes are checked, so that
// conditions may refer to indicators later in the tree.
func (v *validator) collect(path string, nodes []Node) {
	for i, n := range nodes {
		p := fmt.Sprintf("%s[%d]", path, i)
		if n.Group != nil {
			v.register(p+".group", &vnode{path: p + ".group", group: n.Group}, n.Group.Code)
			v.collect(p+".group.children", n.Group.Children)
		}
		if n.Indicator != nil {
			v.register(p+".indicator", &vnode{path: p + ".indicator", ind: n.Indicator}, n.Indicator.Code)
			v.indicators = append(v.indicators, n.Indicator.Code)
		}
	}
}

func (v *validator) register(path string, n *vnode, code string) {
	v.code(path+".code", code)
	if code == "" {
		return
	}
	if prev, ok := v.nodes[code]; ok {
		v.addf(path+".code", code, "duplicate code: already used at %s (groups and indicators share one namespace)", prev.path)
		return
	}
	v.nodes[code] = n
}

func (v *validator) node(path string, n Node) {
	switch {
	case n.Group != nil && n.Indicator != nil:
		v.addf(path, n.Group.Code, "set either group or indicator, not both")
	case n.Group == nil && n.Indicator == nil:
		v.addf(path, "", "empty node: set group or indicator")
	}
	if n.Group != nil {
		v.group(path+".group", n.Group)
	}
	if n.Indicator != nil {
		v.indicator(path+".indicator", n.Indicator)
	}
}

// ruleChild is what rule checks need to know of one child of a group or
// one area of a variant.
type ruleChild struct {
	code   string
	node   Node
	scored bool
}

func (v *validator) group(path string, g *Group) {
	v.text(path+".title", g.Code, g.Title, true)
	if len(g.Children) == 0 {
		v.addf(path+".children", g.Code, "a group needs at least one child")
	}
	kids := make([]ruleChild, 0, len(g.Children))
	for i, ch := range g.Children {
		v.node(fmt.Sprintf("%s.children[%d]", path, i), ch)
		kids = append(kids, ruleChild{code: ch.Code(), node: ch, scored: ch.Group != nil || (ch.Indicator != nil && ch.Indicator.IsScored())})
	}
	v.rule(path, g.Code, g.Rule, kids, false)
}

func (v *validator) rule(path, code string, r Rule, kids []ruleChild, variant bool) {
	agg := r.EffectiveAggregation()
	switch agg {
	case AggregateMean, AggregateWeighted, AggregateMin, AggregateMax:
	case AggregateLookup:
		if variant {
			v.addf(path+".aggregation", code, "lookup is not available for variants (want mean, weighted, min or max)")
		}
	default:
		v.addf(path+".aggregation", code, "unknown aggregation %q (want mean, weighted, lookup, min or max)", r.Aggregation)
	}
	switch r.Missing {
	case "", MissingSkip, MissingZero, MissingRequire:
	default:
		v.addf(path+".missing", code, "unknown missing rule %q (want skip, zero or require)", r.Missing)
	}
	if agg == AggregateLookup && r.Missing == MissingZero {
		v.addf(path+".missing", code, "zero does not apply to lookup: a missing child has no option to look up (use \"*\" in rows instead)")
	}
	scored := 0
	for _, k := range kids {
		if k.scored {
			scored++
		}
	}
	countable := scored
	if agg == AggregateLookup {
		countable = len(kids)
	}
	if r.MinPresent < 0 {
		v.addf(path+".min_present", code, "must not be negative")
	} else if r.MinPresent > countable && len(kids) > 0 {
		v.addf(path+".min_present", code, "%d exceeds the %d children that can have a score", r.MinPresent, countable)
	}
	if agg != AggregateLookup && len(kids) > 0 && scored == 0 {
		v.addf(path+".children", code, "no scored children: nothing to aggregate")
	}
	if agg == AggregateWeighted {
		v.weights(path+".weights", code, r.Weights, kids)
	} else if len(r.Weights) > 0 {
		v.addf(path+".weights", code, "weights are used only by aggregation weighted")
	}
	if agg == AggregateLookup && !variant {
		if r.Lookup == nil {
			v.addf(path+".lookup", code, "aggregation lookup needs a lookup table")
		} else {
			v.lookup(path+".lookup", code, r.Lookup, kids)
		}
	} else if r.Lookup != nil {
		v.addf(path+".lookup", code, "a lookup table is used only by aggregation lookup")
	}
	v.rounding(path+".rounding", code, r.Rounding)
}

func (v *validator) weights(path, code string, ws []Weight, kids []ruleChild) {
	byChild := map[string]int{}
	sum := 0.0
	for i, w := range ws {
		p := fmt.Sprintf("%s[%d]", path, i)
		k := slices.IndexFunc(kids, func(k ruleChild) bool { return k.code == w.Child })
		switch {
		case k < 0:
			v.addf(p+".child", code, "unknown child %q", w.Child)
			continue
		case !kids[k].scored:
			v.addf(p+".child", code, "child %q is not scored and cannot carry a weight", w.Child)
			continue
		}
		if prev, dup := byChild[w.Child]; dup {
			v.addf(p+".child", code, "duplicate weight for child %q (first at %s[%d])", w.Child, path, prev)
			continue
		}
		byChild[w.Child] = i
		switch {
		case w.Weight == nil:
			v.addf(p+".weight", code, "missing weight")
		case !isFinite(*w.Weight) || *w.Weight < 0:
			v.addf(p+".weight", code, "weight %v must be a non-negative number", *w.Weight)
		default:
			sum += *w.Weight
		}
	}
	missing := false
	for _, k := range kids {
		if _, ok := byChild[k.code]; k.scored && !ok {
			v.addf(path, code, "missing weight for child %q", k.code)
			missing = true
		}
	}
	if !missing && math.Abs(sum-1) > weightTolerance {
		v.addf(path, code, "weights sum to %v, not 1", sum)
	}
}

// lookupValue is one possible value of a lookup child: an option code, or a
// score for tables keyed by score.
type lookupValue struct {
	option string
	score  float64
}

func (lv lookupValue) format(byScore bool) string {
	if byScore {
		return formatScore(lv.score)
	}
	return lv.option
}

func (v *validator) lookup(path, code string, lk *Lookup, kids []ruleChild) {
	byScore := false
	switch lk.By {
	case "", LookupByOption:
	case LookupByScore:
		byScore = true
	default:
		v.addf(path+".by", code, "unknown lookup key %q (want option or score)", lk.By)
		return
	}
	if lk.Default != nil {
		v.score(path+".default", code, *lk.Default)
	}
	if len(lk.Rows) == 0 && lk.Default == nil {
		v.addf(path+".rows", code, "a lookup needs rows or a default")
	}
	domains := make([][]lookupValue, len(kids))
	complete := true
	for j, k := range kids {
		dom, why := v.outcomes(k.node, byScore)
		if why != "" {
			v.addf(path, code, "child %q %s", k.code, why)
			complete = false
		}
		domains[j] = dom
	}
	seenRows := map[string]int{}
	for i, row := range lk.Rows {
		p := fmt.Sprintf("%s.rows[%d]", path, i)
		if row.Score == nil {
			v.addf(p+".score", code, "missing score")
		} else {
			v.score(p+".score", code, *row.Score)
		}
		if len(row.When) != len(kids) {
			v.addf(p+".when", code, "has %d values for %d children", len(row.When), len(kids))
			complete = false
			continue
		}
		for j, key := range row.When {
			if key == AnyValue {
				continue
			}
			kp := fmt.Sprintf("%s.when[%d]", p, j)
			val, ok := parseLookupKey(key, byScore)
			if !ok {
				v.addf(kp, code, "%q is not a score", key)
				complete = false
				continue
			}
			if domains[j] != nil && !slices.ContainsFunc(domains[j], func(d lookupValue) bool { return d.matches(val, byScore) }) {
				v.addf(kp, code, "child %q never has the value %q", kids[j].code, key)
			}
		}
		key := rowKey(row.When)
		if first, dup := seenRows[key]; dup {
			v.addf(p+".when", code, "duplicates rows[%d]", first)
		} else {
			seenRows[key] = i
		}
	}
	if lk.Default != nil || !complete {
		return
	}
	v.lookupCoverage(path, code, lk, kids, domains, byScore)
}

// lookupCoverage enumerates the cartesian product of the children's values
// and reports the combinations no row matches, so that a composite never
// turns out unscorable for some country after publication.
func (v *validator) lookupCoverage(path, code string, lk *Lookup, kids []ruleChild, domains [][]lookupValue, byScore bool) {
	total := 1
	for _, dom := range domains {
		if len(dom) == 0 {
			return
		}
		total *= len(dom)
		if total > maxLookupCombinations || total*max(len(lk.Rows), 1) > maxLookupWork {
			v.addf(path, code, "too many combinations of children's values to check against %d rows: add a default", len(lk.Rows))
			return
		}
	}
	rows := make([][]lookupCell, len(lk.Rows))
	for i, r := range lk.Rows {
		rows[i] = compileLookupRow(r.When, byScore)
	}
	const maxReported = 10
	uncovered := 0
	combo := make([]lookupValue, len(domains))
	digits := make([]int, len(domains))
	for {
		for j := range domains {
			combo[j] = domains[j][digits[j]]
		}
		if !slices.ContainsFunc(rows, func(r []lookupCell) bool { return rowMatchesValues(r, combo, byScore) }) {
			uncovered++
			if uncovered <= maxReported {
				parts := make([]string, len(combo))
				for j, c := range combo {
					parts[j] = kids[j].code + "=" + c.format(byScore)
				}
				v.addf(path+".rows", code, "no row matches (%s)", strings.Join(parts, ", "))
			}
		}
		j := len(digits) - 1
		for ; j >= 0; j-- {
			digits[j]++
			if digits[j] < len(domains[j]) {
				break
			}
			digits[j] = 0
		}
		if j < 0 {
			break
		}
	}
	if uncovered > maxReported {
		v.addf(path+".rows", code, "and %d more combinations match no row", uncovered-maxReported)
	}
}

func (lv lookupValue) matches(other lookupValue, byScore bool) bool {
	if byScore {
		return math.Abs(lv.score-other.score) <= weightTolerance
	}
	return lv.option == other.option
}

func rowMatchesValues(row []lookupCell, combo []lookupValue, byScore bool) bool {
	for j, cell := range row {
		if !cell.any && !cell.value.matches(combo[j], byScore) {
			return false
		}
	}
	return true
}

func parseLookupKey(k LookupKey, byScore bool) (lookupValue, bool) {
	if !byScore {
		return lookupValue{option: string(k)}, true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(k)), 64)
	if err != nil || !isFinite(f) {
		return lookupValue{}, false
	}
	return lookupValue{score: f}, true
}

// outcomes returns the finite set of values a lookup child can take, or why
// it has none.
func (v *validator) outcomes(n Node, byScore bool) ([]lookupValue, string) {
	if !byScore {
		ind := n.Indicator
		switch {
		case ind == nil:
			return nil, "is a group: lookup by option needs choice indicators (use by: score)"
		case ind.Type != SingleChoice && ind.Type != YesNo:
			return nil, fmt.Sprintf("is a %s indicator: lookup by option needs single_choice or yes_no", ind.Type)
		}
		var dom []lookupValue
		for _, o := range effectiveOptions(ind) {
			dom = append(dom, lookupValue{option: o.Code})
		}
		return dom, ""
	}
	scores, why := scoreOutcomes(n)
	dom := make([]lookupValue, len(scores))
	for i, s := range scores {
		dom[i] = lookupValue{score: s}
	}
	return dom, why
}

// scoreOutcomes returns the sorted distinct scores a node can produce
// without overrides.
func scoreOutcomes(n Node) ([]float64, string) {
	var out []float64
	add := func(p *float64) {
		if p != nil && !slices.Contains(out, *p) {
			out = append(out, *p)
		}
	}
	switch {
	case n.Indicator != nil:
		ind := n.Indicator
		if !ind.IsScored() {
			return nil, "is not scored: lookup by score needs scored children"
		}
		switch {
		case ind.Type == SingleChoice || ind.Type == YesNo:
			for _, o := range effectiveOptions(ind) {
				add(o.Score)
			}
		case ind.Type == NumberType && ind.Number != nil && ind.Number.Scoring == ScoreByBands:
			for _, b := range ind.Number.Bands {
				add(b.Score)
			}
		default:
			return nil, "has no finite set of scores: lookup by score needs choice indicators, banded numbers, lookups, or min/max of those"
		}
	case n.Group != nil:
		g := n.Group
		switch g.EffectiveAggregation() {
		case AggregateLookup:
			if g.Lookup == nil {
				return nil, ""
			}
			for _, r := range g.Lookup.Rows {
				add(r.Score)
			}
			add(g.Lookup.Default)
		case AggregateMin, AggregateMax:
			for _, ch := range g.Children {
				if ch.Indicator != nil && !ch.Indicator.IsScored() {
					continue
				}
				sub, why := scoreOutcomes(ch)
				if why != "" {
					return nil, fmt.Sprintf("aggregates child %q, which %s", ch.Code(), why)
				}
				for _, s := range sub {
					add(&s)
				}
			}
			if g.Missing == MissingZero {
				zero := 0.0
				add(&zero)
			}
		default:
			return nil, fmt.Sprintf("aggregates by %s: its scores are not a finite set", g.EffectiveAggregation())
		}
	}
	slices.Sort(out)
	return out, ""
}

func (v *validator) rounding(path, code string, r *Rounding) {
	if r == nil {
		return
	}
	if r.Decimals < 0 || r.Decimals > maxRoundingDecimals {
		v.addf(path+".decimals", code, "%d is outside 0..%d", r.Decimals, maxRoundingDecimals)
	}
	switch r.Mode {
	case "", RoundHalfUp, RoundHalfEven:
	default:
		v.addf(path+".mode", code, "unknown rounding mode %q (want half_up or half_even)", r.Mode)
	}
}

func (v *validator) score(path, code string, s float64) {
	if !isFinite(s) || s < 0 || s > 100 {
		v.addf(path, code, "score %v is outside 0..100", s)
	}
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (v *validator) indicator(path string, ind *Indicator) {
	code := ind.Code
	v.text(path+".title", code, ind.Title, true)
	v.text(path+".question", code, ind.Question, true)
	v.text(path+".guidance", code, ind.Guidance, false)
	switch ind.Type {
	case SingleChoice:
		if len(ind.Options) < 2 {
			v.addf(path+".options", code, "a single_choice indicator needs at least two options")
		}
		v.options(path, ind, true)
	case YesNo:
		if len(ind.Options) > 0 {
			codes := make([]string, len(ind.Options))
			for i, o := range ind.Options {
				codes[i] = o.Code
			}
			slices.Sort(codes)
			if !slices.Equal(codes, []string{OptionNo, OptionYes}) {
				v.addf(path+".options", code, "yes_no options must be exactly %q and %q", OptionYes, OptionNo)
			}
		}
		v.options(path, ind, false)
	case NumberType:
		if len(ind.Options) > 0 {
			v.addf(path+".options", code, "options are not used by type number")
		}
		switch {
		case ind.Number != nil:
			v.number(path+".number", ind)
		case ind.IsScored():
			v.addf(path+".number", code, "a scored number indicator needs a number block with scoring")
		}
	case TextType:
		if len(ind.Options) > 0 {
			v.addf(path+".options", code, "options are not used by type text")
		}
		if ind.Scored != nil && *ind.Scored {
			v.addf(path+".scored", code, "text answers are never scored")
		}
	case "":
		v.addf(path+".type", code, "must be set (single_choice, yes_no, number or text)")
	default:
		v.addf(path+".type", code, "unknown answer type %q (want single_choice, yes_no, number or text)", ind.Type)
	}
	if ind.Number != nil && ind.Type != NumberType {
		v.addf(path+".number", code, "a number block is used only by type number")
	}
	if ind.Condition != nil {
		v.condition(path+".condition", code, *ind.Condition)
	}
	v.rounding(path+".rounding", code, ind.Rounding)
}

func (v *validator) options(path string, ind *Indicator, labelsRequired bool) {
	seen := map[string]int{}
	for i, o := range ind.Options {
		p := fmt.Sprintf("%s.options[%d]", path, i)
		v.code(p+".code", o.Code)
		if prev, dup := seen[o.Code]; dup && o.Code != "" {
			v.addf(p+".code", ind.Code, "duplicate option code %q (first at options[%d])", o.Code, prev)
		} else {
			seen[o.Code] = i
		}
		v.text(p+".label", ind.Code, o.Label, labelsRequired)
		switch {
		case o.Score != nil:
			v.score(p+".score", ind.Code, *o.Score)
		case ind.IsScored():
			v.addf(p+".score", ind.Code, "missing score (required on scored indicators)")
		}
	}
}

func (v *validator) number(path string, ind *Indicator) {
	n, code := ind.Number, ind.Code
	v.text(path+".unit", code, n.Unit, false)
	for _, b := range []struct {
		name string
		val  *float64
	}{{"min", n.Min}, {"max", n.Max}} {
		if b.val != nil && !isFinite(*b.val) {
			v.addf(path+"."+b.name, code, "must be a finite number")
		}
	}
	if n.Min != nil && n.Max != nil && *n.Min > *n.Max {
		v.addf(path, code, "min %v is greater than max %v", *n.Min, *n.Max)
	}
	if n.Scoring != ScoreByBands && len(n.Bands) > 0 {
		v.addf(path+".bands", code, "bands are used only by scoring bands")
	}
	switch n.Scoring {
	case "":
		if ind.IsScored() {
			v.addf(path+".scoring", code, "a scored number needs scoring bands or direct")
		}
	case ScoreByBands:
		v.bands(path, ind)
	case ScoreDirect:
		if n.Min != nil && (*n.Min < 0 || *n.Min > 100) {
			v.addf(path+".min", code, "direct scoring takes the value as the score: min must be within 0..100")
		}
		if n.Max != nil && (*n.Max < 0 || *n.Max > 100) {
			v.addf(path+".max", code, "direct scoring takes the value as the score: max must be within 0..100")
		}
	default:
		v.addf(path+".scoring", code, "unknown number scoring %q (want bands or direct)", n.Scoring)
	}
}

// interval is a band with its bounds made explicit; infinite bounds count
// as inclusive so that an unbounded side never leaves a gap.
type interval struct {
	lo, hi       float64
	loInc, hiInc bool
	score        float64
	idx          int
}

func (iv interval) empty() bool {
	return iv.lo > iv.hi || (iv.lo == iv.hi && !(iv.loInc && iv.hiInc))
}

func (iv interval) contains(x float64) bool {
	return (x > iv.lo || (x == iv.lo && iv.loInc)) && (x < iv.hi || (x == iv.hi && iv.hiInc))
}

func bandInterval(b Band, idx int) interval {
	iv := interval{lo: math.Inf(-1), hi: math.Inf(1), loInc: true, hiInc: true, idx: idx}
	switch {
	case b.Min != nil:
		iv.lo = *b.Min
	case b.Over != nil:
		iv.lo, iv.loInc = *b.Over, false
	}
	switch {
	case b.Max != nil:
		iv.hi = *b.Max
	case b.Under != nil:
		iv.hi, iv.hiInc = *b.Under, false
	}
	if b.Score != nil {
		iv.score = *b.Score
	}
	return iv
}

// accepted returns the inclusive range of number answers an indicator
// accepts.
func accepted(n *Number) (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if n.Scoring == ScoreDirect {
		lo, hi = 0, 100
	}
	if n.Min != nil {
		lo = math.Max(lo, *n.Min)
	}
	if n.Max != nil {
		hi = math.Min(hi, *n.Max)
	}
	return lo, hi
}

// bands checks that the bands partition the accepted range: every accepted
// value must fall in exactly one band.
func (v *validator) bands(path string, ind *Indicator) {
	n, code := ind.Number, ind.Code
	if len(n.Bands) == 0 {
		v.addf(path+".bands", code, "scoring bands needs at least one band")
		return
	}
	dLo, dHi := accepted(n)
	var ivs []interval
	for i, b := range n.Bands {
		p := fmt.Sprintf("%s.bands[%d]", path, i)
		ok := true
		for _, f := range []struct {
			name string
			val  *float64
		}{{"min", b.Min}, {"over", b.Over}, {"max", b.Max}, {"under", b.Under}} {
			if f.val != nil && !isFinite(*f.val) {
				v.addf(p+"."+f.name, code, "must be a finite number")
				ok = false
			}
		}
		if b.Min != nil && b.Over != nil {
			v.addf(p, code, "set min (inclusive) or over (exclusive), not both")
			ok = false
		}
		if b.Max != nil && b.Under != nil {
			v.addf(p, code, "set max (inclusive) or under (exclusive), not both")
			ok = false
		}
		if b.Score == nil {
			v.addf(p+".score", code, "missing score")
		} else {
			v.score(p+".score", code, *b.Score)
		}
		if !ok {
			continue
		}
		iv := bandInterval(b, i)
		switch {
		case iv.empty():
			v.addf(p, code, "empty band: no value satisfies its bounds")
		case iv.hi < dLo || (iv.hi == dLo && !iv.hiInc) || iv.lo > dHi || (iv.lo == dHi && !iv.loInc):
			v.addf(p, code, "band lies entirely outside the accepted range %s", rangeString(dLo, dHi))
		default:
			ivs = append(ivs, iv)
		}
	}
	slices.SortStableFunc(ivs, func(a, b interval) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		case a.loInc && !b.loInc:
			return -1
		case !a.loInc && b.loInc:
			return 1
		}
		return 0
	})
	// x is how far the bands cover: every accepted value below x is in a
	// band, and x itself is iff xCovered.
	x, xCovered := dLo, false
	prev := -1
	for _, iv := range ivs {
		p := fmt.Sprintf("%s.bands[%d]", path, iv.idx)
		switch {
		case prev >= 0 && (iv.lo < x || (iv.lo == x && iv.loInc && xCovered)):
			v.addf(p, code, "overlaps bands[%d]", prev)
		case iv.lo > x && math.IsInf(x, -1):
			v.addf(path+".bands", code, "no band covers values below %v", iv.lo)
		case iv.lo > x:
			v.addf(path+".bands", code, "no band covers values between %v and %v", x, iv.lo)
		case iv.lo == x && !xCovered && !iv.loInc:
			v.addf(path+".bands", code, "no band covers the value %v", x)
		}
		if iv.hi > x || (iv.hi == x && iv.hiInc) {
			x, xCovered = iv.hi, iv.hiInc
		}
		prev = iv.idx
	}
	if len(ivs) == 0 {
		return
	}
	switch {
	case x < dHi && math.IsInf(dHi, 1):
		v.addf(path+".bands", code, "no band covers values above %v", x)
	case x < dHi:
		v.addf(path+".bands", code, "no band covers values between %v and %v", x, dHi)
	case x == dHi && !xCovered && !math.IsInf(x, 1):
		v.addf(path+".bands", code, "no band covers the value %v", x)
	}
}

func rangeString(lo, hi float64) string {
	return fmt.Sprintf("[%v, %v]", lo, hi)
}

func (v *validator) condition(path, self string, c Condition) {
	forms := 0
	leaf := c.Indicator != "" || len(c.In) > 0
	for _, used := range []bool{leaf, len(c.AllOf) > 0, len(c.AnyOf) > 0} {
		if used {
			forms++
		}
	}
	switch {
	case forms == 0:
		v.addf(path, self, "empty condition: set indicator and in, all_of or any_of")
		return
	case forms > 1:
		v.addf(path, self, "use exactly one of indicator/in, all_of and any_of; nest conditions to combine them")
	}
	if leaf {
		var ref *Indicator
		switch n := v.nodes[c.Indicator]; {
		case c.Indicator == "":
			v.addf(path+".indicator", self, "must not be empty")
		case c.Indicator == self:
			v.addf(path+".indicator", self, "a condition cannot refer to its own indicator")
		case n == nil || n.ind == nil:
			v.addf(path+".indicator", self, "unknown indicator %q", c.Indicator)
		case n.ind.Type != SingleChoice && n.ind.Type != YesNo:
			v.addf(path+".indicator", self, "indicator %q is %s: conditions test single_choice and yes_no answers", c.Indicator, n.ind.Type)
		default:
			ref = n.ind
		}
		if len(c.In) == 0 {
			v.addf(path+".in", self, "list at least one option")
		}
		for j, o := range c.In {
			if ref != nil && !slices.ContainsFunc(effectiveOptions(ref), func(opt Option) bool { return opt.Code == o }) {
				v.addf(fmt.Sprintf("%s.in[%d]", path, j), self, "indicator %q has no option %q", c.Indicator, o)
			}
		}
	}
	for i, sub := range c.AllOf {
		v.condition(fmt.Sprintf("%s.all_of[%d]", path, i), self, sub)
	}
	for i, sub := range c.AnyOf {
		v.condition(fmt.Sprintf("%s.any_of[%d]", path, i), self, sub)
	}
}

func conditionRefs(c *Condition, out []string) []string {
	if c == nil {
		return out
	}
	if c.Indicator != "" {
		out = append(out, c.Indicator)
	}
	for i := range c.AllOf {
		out = conditionRefs(&c.AllOf[i], out)
	}
	for i := range c.AnyOf {
		out = conditionRefs(&c.AnyOf[i], out)
	}
	return out
}

// conditionCycles reports each cycle of skip logic once: an indicator that
// applies only if another applies, which applies only if the first does,
// would never be asked.
func (v *validator) conditionCycles() {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(code string)
	visit = func(code string) {
		state[code] = active
		stack = append(stack, code)
		n := v.nodes[code]
		for _, ref := range conditionRefs(n.ind.Condition, nil) {
			r := v.nodes[ref]
			if ref == code || r == nil || r.ind == nil {
				continue
			}
			switch state[ref] {
			case unseen:
				visit(ref)
			case active:
				start := slices.Index(stack, ref)
				cycle := append(slices.Clone(stack[start:]), ref)
				v.addf(v.nodes[ref].path+".condition", ref, "conditions form a cycle: %s", strings.Join(cycle, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[code] = done
	}
	for _, code := range v.indicators {
		if n := v.nodes[code]; n != nil && n.ind != nil && state[code] == unseen {
			visit(code)
		}
	}
}

func (v *validator) variants() {
	top := map[string]bool{}
	for _, n := range v.d.Tree {
		if n.Group != nil {
			top[n.Group.Code] = true
		}
	}
	names := map[string]int{}
	for i, vr := range v.d.Variants {
		p := fmt.Sprintf("variants[%d]", i)
		v.code(p+".name", vr.Name)
		if prev, dup := names[vr.Name]; dup && vr.Name != "" {
			v.addf(p+".name", vr.Name, "duplicate variant name (first at variants[%d])", prev)
		} else {
			names[vr.Name] = i
		}
		v.text(p+".title", vr.Name, vr.Title, false)
		if len(vr.Areas) == 0 {
			v.addf(p+".areas", vr.Name, "list at least one area")
		}
		seen := map[string]bool{}
		kids := make([]ruleChild, 0, len(vr.Areas))
		for j, a := range vr.Areas {
			ap := fmt.Sprintf("%s.areas[%d]", p, j)
			switch {
			case !top[a]:
				v.addf(ap, vr.Name, "unknown top-level group %q", a)
			case seen[a]:
				v.addf(ap, vr.Name, "duplicate area %q", a)
			default:
				kids = append(kids, ruleChild{code: a, scored: true})
			}
			seen[a] = true
		}
		v.rule(p, vr.Name, vr.Rule, kids, true)
	}
}

// effectiveOptions returns an indicator's options with the implied yes/no
// options filled in.
func effectiveOptions(ind *Indicator) []Option {
	if ind.Type == YesNo && len(ind.Options) == 0 {
		yes, no := 100.0, 0.0
		return []Option{{Code: OptionYes, Score: &yes}, {Code: OptionNo, Score: &no}}
	}
	return ind.Options
}

// CheckAnswer reports what is wrong with an answer to the indicator code:
// the rounds code calls it before saving. It compiles the definition's
// index on every call; callers checking many answers use Compiled.CheckAnswer.
func (d *Definition) CheckAnswer(code string, a Answer) []Problem {
	return build(d).CheckAnswer(code, a)
}

// Applicable reports whether the indicator code applies given the other
// answers (skip logic). An indicator whose condition refers to an
// unanswered or not-applicable indicator does not apply. It compiles the
// definition's index on every call; callers asking often use
// Compiled.Applicable.
func (d *Definition) Applicable(code string, answers Answers) bool {
	return build(d).Applicable(code, answers)
}

// CheckAnswer reports what is wrong with an answer to the indicator code:
// an unknown indicator or option, a value of the wrong type, a number out
// of range, or no value at all.
func (c *Compiled) CheckAnswer(code string, a Answer) []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	i, ok := c.byCode[code]
	if !ok || c.nodes[i].ind == nil {
		add("indicator", "unknown indicator %q", code)
		return ps
	}
	if a.Indicator != "" && a.Indicator != code {
		add("indicator", "answer is for %q, not %q", a.Indicator, code)
	}
	set := 0
	for _, b := range []bool{a.NotApplicable, a.Option != "", a.Number != nil, a.Text != ""} {
		if b {
			set++
		}
	}
	switch {
	case set == 0:
		add("", "no value: give an option, a number or a text, or mark it not applicable")
		return ps
	case set > 1:
		add("", "give exactly one of option, number, text and not applicable")
		return ps
	case a.NotApplicable:
		return ps
	}
	n := &c.nodes[i]
	ind := n.ind
	switch ind.Type {
	case SingleChoice, YesNo:
		if a.Option == "" {
			add("option", "a %s indicator takes an option", ind.Type)
		} else if n.option(a.Option) < 0 {
			add("option", "unknown option %q", a.Option)
		}
	case NumberType:
		switch {
		case a.Number == nil:
			add("number", "a number indicator takes a number")
		case !isFinite(*a.Number):
			add("number", "must be a finite number")
		case *a.Number < n.lo || *a.Number > n.hi:
			add("number", "%v is outside the accepted range %s", *a.Number, rangeString(n.lo, n.hi))
		}
	case TextType:
		if a.Text == "" {
			add("text", "a text indicator takes a text")
		}
	}
	return ps
}

// Applicable reports whether the indicator code applies given the other
// answers; see Definition.Applicable.
func (c *Compiled) Applicable(code string, answers Answers) bool {
	i, ok := c.byCode[code]
	if !ok || c.nodes[i].ind == nil {
		return false
	}
	s := c.newSheet(answers)
	return s.applicable(i)
}

// Applicability is skip logic evaluated once for one sheet of answers, for callers that ask
// about many indicators of the same sheet (progress, submission, flagging answers a change made
// inapplicable): each question is then a lookup instead of a new evaluation.
type Applicability struct {
	s *sheet
}

// Applicability binds answers to the definition for repeated Applies questions.
func (c *Compiled) Applicability(answers Answers) *Applicability {
	return &Applicability{s: c.newSheet(answers)}
}

// Applies reports what Applicable(code, answers) would.
func (a *Applicability) Applies(code string) bool {
	i, ok := a.s.c.byCode[code]
	if !ok || a.s.c.nodes[i].ind == nil {
		return false
	}
	return a.s.applicable(i)
}

// CheckOverrides reports overrides that Score cannot honour: unknown
// nodes, scores outside 0..100, missing reasons, two overrides of one node,
// overrides of unscored indicators, and overrides of children of a lookup
// by option, which reads options rather than scores.
func (c *Compiled) CheckOverrides(overrides []Override) []Problem {
	var ps []Problem
	seen := map[string]int{}
	for k, o := range overrides {
		p := fmt.Sprintf("overrides[%d]", k)
		add := func(path, format string, args ...any) {
			ps = append(ps, Problem{Path: path, Code: o.Node, Message: fmt.Sprintf(format, args...)})
		}
		i, ok := c.byCode[o.Node]
		if !ok {
			add(p+".node", "unknown node %q", o.Node)
			continue
		}
		if prev, dup := seen[o.Node]; dup {
			add(p+".node", "node %q is already overridden by overrides[%d]", o.Node, prev)
		}
		seen[o.Node] = k
		if !isFinite(o.Score) || o.Score < 0 || o.Score > 100 {
			add(p+".score", "score %v is outside 0..100", o.Score)
		}
		if strings.TrimSpace(o.Reason) == "" {
			add(p+".reason", "an override needs a reason")
		}
		n := &c.nodes[i]
		if n.ind != nil && !n.scored {
			add(p+".node", "indicator %q is not scored: an override would change nothing", o.Node)
		}
		if par := n.parent; par >= 0 && c.nodes[par].agg == AggregateLookup && !c.nodes[par].lookup.byScore {
			add(p+".node", "group %q looks up its children's options, not their scores: override %q instead", c.nodes[par].code, c.nodes[par].code)
		}
	}
	return ps
}
