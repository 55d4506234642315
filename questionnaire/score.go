package questionnaire

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Reason says why a node has no score. Values are stable: reports and
// snapshots store them.
type Reason string

// Reasons for a missing score.
const (
	ReasonNotAnswered   Reason = "not_answered"
	ReasonNotApplicable Reason = "not_applicable"
	// ReasonNotScored marks text indicators and indicators with scored:
	// false, which are collected but never counted.
	ReasonNotScored Reason = "not_scored"
	// ReasonInvalidAnswer marks an answer CheckAnswer would refuse, or two
	// answers to one indicator.
	ReasonInvalidAnswer Reason = "invalid_answer"
	// ReasonNoChildPresent marks a group under the skip rule none of whose
	// children has a score.
	ReasonNoChildPresent  Reason = "no_child_present"
	ReasonBelowMinPresent Reason = "below_min_present"
	// ReasonRequiredChildMissing marks a group under the require rule, or a
	// lookup, with a child that has no score.
	ReasonRequiredChildMissing Reason = "required_child_missing"
	ReasonLookupNoMatch        Reason = "lookup_no_match"
	// ReasonInvalidOverride marks a node whose override has a score outside
	// 0..100 or is given twice: an audited decision is never silently
	// dropped or clamped.
	ReasonInvalidOverride Reason = "invalid_override"
)

// Result is the score of every node and variant for one country.
type Result struct {
	// Nodes follow the tree in pre-order (a group before its children).
	Nodes    []NodeScore    `json:"nodes"`
	Variants []VariantScore `json:"variants,omitempty"`
	// Problems lists answers and overrides Score ignored: unknown codes,
	// overrides of unscored indicators. Callers meant to refuse them
	// earlier with CheckAnswer and CheckOverrides.
	Problems []Problem `json:"problems,omitempty"`
}

// NodeScore is the score of one group or indicator.
type NodeScore struct {
	Code string `json:"code"`
	// Score is the reported score, rounded per the node's rounding; nil
	// when missing.
	Score *float64 `json:"score"`
	// Unrounded is the score before rounding; nil when missing.
	Unrounded *float64         `json:"unrounded,omitempty"`
	Missing   *Missing         `json:"missing,omitempty"`
	Override  *AppliedOverride `json:"override,omitempty"`
}

// VariantScore is one overall score.
type VariantScore struct {
	Name      string   `json:"name"`
	Score     *float64 `json:"score"`
	Unrounded *float64 `json:"unrounded,omitempty"`
	Missing   *Missing `json:"missing,omitempty"`
}

// Missing explains a missing score.
type Missing struct {
	Reason Reason `json:"reason"`
	// Child is the code of the child (or area) that caused it, when one did.
	Child  string `json:"child,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// AppliedOverride records that a coordinator's score replaced the computed
// one, and what the computed one was, for the audit trail.
type AppliedOverride struct {
	// Computed is the unrounded score the override replaced; nil if the
	// node had none.
	Computed *float64 `json:"computed"`
	Reason   string   `json:"reason"`
}

// Node returns the score of the node code. It scans; callers reading
// every node iterate Nodes.
func (r *Result) Node(code string) (NodeScore, bool) {
	for _, n := range r.Nodes {
		if n.Code == code {
			return n, true
		}
	}
	return NodeScore{}, false
}

// Variant returns the overall score named name.
func (r *Result) Variant(name string) (VariantScore, bool) {
	for _, v := range r.Variants {
		if v.Name == name {
			return v, true
		}
	}
	return VariantScore{}, false
}

// Compiled is a validated definition indexed for answering and scoring:
// compile once per questionnaire version, then score every country of a
// round with it. It is immutable and safe for concurrent use.
type Compiled struct {
	def      *Definition
	nodes    []cnode // tree pre-order: children come after their parent
	byCode   map[string]int
	variants []cvariant
	// dependents lists, per indicator whose answer some condition reads, the indicators whose
	// applicability depends on it (transitively), in node order.
	dependents map[int][]int
}

type cnode struct {
	code     string
	parent   int
	children []int
	group    *Group
	ind      *Indicator
	// scored says whether a parent's mean, weighted, min or max counts the
	// node; groups always count.
	scored bool

	options []Option
	bands   []interval
	lo, hi  float64 // accepted number answers, inclusive
	direct  bool
	cond    *ccond

	crule
	rounding *Rounding
}

type crule struct {
	agg        Aggregation
	missing    MissingRule
	minPresent int
	weights    []float64 // parallel to the children
	lookup     *clookup
}

type cvariant struct {
	name     string
	areas    []int
	rounding *Rounding
	crule
}

type ccond struct {
	ref  int // leaf: the indicator tested; -1 if unknown
	in   []string
	all  []*ccond
	any  []*ccond
	kind condKind
}

type condKind uint8

const (
	condNever condKind = iota
	condLeaf
	condAll
	condAny
)

type clookup struct {
	byScore    bool
	rows       []clrow
	def        float64
	hasDefault bool
}

type clrow struct {
	cells []lookupCell
	score float64
}

type lookupCell struct {
	any   bool
	valid bool
	value lookupValue
}

func compileLookupRow(when []LookupKey, byScore bool) []lookupCell {
	cells := make([]lookupCell, len(when))
	for j, k := range when {
		if k == AnyValue {
			cells[j] = lookupCell{any: true, valid: true}
			continue
		}
		v, ok := parseLookupKey(k, byScore)
		cells[j] = lookupCell{valid: ok, value: v}
	}
	return cells
}

// Compile validates the definition and indexes a private copy of it, so
// that later changes to d cannot alter scores computed with the result.
// An invalid definition yields a *ValidationError.
func (d *Definition) Compile() (*Compiled, error) {
	if ps := d.Validate(); len(ps) > 0 {
		return nil, &ValidationError{Problems: ps}
	}
	// A validated definition has only finite numbers, so its JSON form is
	// a faithful deep copy.
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("%w: copying definition: %w", ErrInvalid, err)
	}
	cp := new(Definition)
	if err := json.Unmarshal(raw, cp); err != nil {
		return nil, fmt.Errorf("%w: copying definition: %w", ErrInvalid, err)
	}
	return build(cp), nil
}

// build indexes d without validating it. It never panics on an invalid
// definition, so that Definition.CheckAnswer and Applicable work on drafts.
func build(d *Definition) *Compiled {
	c := &Compiled{def: d, byCode: map[string]int{}}
	c.add(d.Tree, -1)
	for i := range c.nodes {
		c.compileNode(i)
	}
	c.linkDependents()
	top := map[string]int{}
	for i, n := range c.nodes {
		if n.parent < 0 && n.group != nil {
			if _, dup := top[n.code]; !dup {
				top[n.code] = i
			}
		}
	}
	for _, v := range d.Variants {
		cv := cvariant{name: v.Name, rounding: v.Rounding}
		for _, a := range v.Areas {
			if i, ok := top[a]; ok && !slices.Contains(cv.areas, i) {
				cv.areas = append(cv.areas, i)
			}
		}
		codes := make([]string, len(cv.areas))
		for j, i := range cv.areas {
			codes[j] = c.nodes[i].code
		}
		cv.crule = compileRule(v.Rule, codes, MissingRequire)
		c.variants = append(c.variants, cv)
	}
	return c
}

func (c *Compiled) add(nodes []Node, parent int) {
	for _, n := range nodes {
		cn := cnode{parent: parent}
		switch {
		case n.Group != nil:
			cn.group, cn.code = n.Group, n.Group.Code
		case n.Indicator != nil:
			cn.ind, cn.code = n.Indicator, n.Indicator.Code
		default:
			continue
		}
		i := len(c.nodes)
		c.nodes = append(c.nodes, cn)
		if _, dup := c.byCode[cn.code]; !dup {
			c.byCode[cn.code] = i
		}
		if parent >= 0 {
			c.nodes[parent].children = append(c.nodes[parent].children, i)
		}
		if n.Group != nil {
			c.add(n.Group.Children, i)
		}
	}
}

func (c *Compiled) compileNode(i int) {
	n := &c.nodes[i]
	if g := n.group; g != nil {
		n.scored = true
		codes := make([]string, len(n.children))
		for j, k := range n.children {
			codes[j] = c.nodes[k].code
		}
		n.crule = compileRule(g.Rule, codes, MissingSkip)
		n.rounding = g.Rounding
		return
	}
	ind := n.ind
	n.scored = ind.IsScored()
	n.options = effectiveOptions(ind)
	n.rounding = ind.Rounding
	n.lo, n.hi = math.Inf(-1), math.Inf(1)
	if num := ind.Number; num != nil {
		n.lo, n.hi = accepted(num)
		n.direct = num.Scoring == ScoreDirect
		if num.Scoring == ScoreByBands {
			for k, b := range num.Bands {
				if b.Score != nil {
					n.bands = append(n.bands, bandInterval(b, k))
				}
			}
		}
	}
	if ind.Condition != nil {
		n.cond = c.compileCond(ind.Condition)
	}
}

// linkDependents records, for every indicator, the indicators whose condition reads it,
// directly or through other conditions: those are the only ones whose applicability an answer
// to it can change.
func (c *Compiled) linkDependents() {
	readers := map[int][]int{} // indicator -> indicators whose condition names it
	for i, n := range c.nodes {
		for _, ref := range n.cond.refs(nil) {
			if !slices.Contains(readers[ref], i) {
				readers[ref] = append(readers[ref], i)
			}
		}
	}
	c.dependents = make(map[int][]int, len(readers))
	for start := range readers {
		seen := map[int]bool{start: true}
		queue := []int{start}
		var out []int
		for len(queue) > 0 {
			i := queue[0]
			queue = queue[1:]
			for _, r := range readers[i] {
				if !seen[r] {
					seen[r] = true
					out = append(out, r)
					queue = append(queue, r)
				}
			}
		}
		slices.Sort(out)
		c.dependents[start] = out
	}
}

// refs appends the indicators a condition tests.
func (cc *ccond) refs(out []int) []int {
	if cc == nil {
		return out
	}
	if cc.kind == condLeaf && cc.ref >= 0 {
		out = append(out, cc.ref)
	}
	for _, sub := range cc.all {
		out = sub.refs(out)
	}
	for _, sub := range cc.any {
		out = sub.refs(out)
	}
	return out
}

func (c *Compiled) compileCond(cond *Condition) *ccond {
	switch {
	case cond.Indicator != "":
		ref, ok := c.byCode[cond.Indicator]
		if !ok || c.nodes[ref].ind == nil {
			ref = -1
		}
		return &ccond{kind: condLeaf, ref: ref, in: cond.In}
	case len(cond.AllOf) > 0:
		cc := &ccond{kind: condAll}
		for k := range cond.AllOf {
			cc.all = append(cc.all, c.compileCond(&cond.AllOf[k]))
		}
		return cc
	case len(cond.AnyOf) > 0:
		cc := &ccond{kind: condAny}
		for k := range cond.AnyOf {
			cc.any = append(cc.any, c.compileCond(&cond.AnyOf[k]))
		}
		return cc
	}
	return &ccond{kind: condNever}
}

func compileRule(r Rule, children []string, defaultMissing MissingRule) crule {
	cr := crule{agg: r.EffectiveAggregation(), missing: r.Missing, minPresent: r.MinPresent}
	if cr.missing == "" {
		cr.missing = defaultMissing
	}
	if cr.agg == AggregateWeighted {
		cr.weights = make([]float64, len(children))
		for j, code := range children {
			for _, w := range r.Weights {
				if w.Child == code && w.Weight != nil && isFinite(*w.Weight) && *w.Weight > 0 {
					cr.weights[j] = *w.Weight
					break
				}
			}
		}
	}
	if cr.agg == AggregateLookup {
		cl := &clookup{}
		if r.Lookup != nil {
			cl.byScore = r.Lookup.By == LookupByScore
			for _, row := range r.Lookup.Rows {
				if row.Score != nil && len(row.When) == len(children) {
					cl.rows = append(cl.rows, clrow{cells: compileLookupRow(row.When, cl.byScore), score: *row.Score})
				}
			}
			if r.Lookup.Default != nil {
				cl.def, cl.hasDefault = *r.Lookup.Default, true
			}
		}
		cr.lookup = cl
	}
	return cr
}

func (n *cnode) option(code string) int {
	for k := range n.options {
		if n.options[k].Code == code {
			return k
		}
	}
	return -1
}

// Indicator returns the indicator code. The caller must not modify it.
func (c *Compiled) Indicator(code string) (*Indicator, bool) {
	i, ok := c.byCode[code]
	if !ok || c.nodes[i].ind == nil {
		return nil, false
	}
	return c.nodes[i].ind, true
}

// IndicatorCodes lists the indicator codes in tree order.
func (c *Compiled) IndicatorCodes() []string {
	var codes []string
	for _, n := range c.nodes {
		if n.ind != nil {
			codes = append(codes, n.code)
		}
	}
	return codes
}

// sheet is one country's answers bound to a compiled definition.
type sheet struct {
	c       *Compiled
	answers Answers
	// answer holds, per node, the index of its answer in answers, or one
	// of noAnswer and duplicateAnswer.
	answer   []int32
	memo     []int8 // applicability: 0 unknown, 1 in progress, 2 yes, 3 no
	problems []Problem
}

const (
	noAnswer        = -1
	duplicateAnswer = -2
)

func (c *Compiled) newSheet(answers Answers) *sheet {
	s := &sheet{c: c, answers: answers, answer: make([]int32, len(c.nodes)), memo: make([]int8, len(c.nodes))}
	for i := range s.answer {
		s.answer[i] = noAnswer
	}
	for k, a := range answers {
		i, ok := c.byCode[a.Indicator]
		if !ok || c.nodes[i].ind == nil {
			s.problems = append(s.problems, Problem{Path: fmt.Sprintf("answers[%d].indicator", k), Code: a.Indicator, Message: "unknown indicator: answer ignored"})
			continue
		}
		if s.answer[i] != noAnswer {
			if s.answer[i] >= 0 {
				s.problems = append(s.problems, Problem{Path: fmt.Sprintf("answers[%d].indicator", k), Code: a.Indicator, Message: "several answers to one indicator: all ignored"})
			}
			s.answer[i] = duplicateAnswer
			continue
		}
		s.answer[i] = int32(k)
	}
	return s
}

func (s *sheet) applicable(i int) bool {
	switch s.memo[i] {
	case 1, 3:
		// 1 means a cycle of conditions, which Validate refuses; the
		// guard keeps drafts from recursing forever.
		return false
	case 2:
		return true
	}
	s.memo[i] = 1
	ok := holds(s, s.c.nodes[i].cond)
	s.memo[i] = 3
	if ok {
		s.memo[i] = 2
	}
	return ok
}

func (s *sheet) answerAt(i int) (Answer, bool) {
	k := s.answer[i]
	if k < 0 {
		return Answer{}, false
	}
	return s.answers[k], true
}

type status uint8

const (
	statusMissing status = iota
	statusPresent
	statusNotApplicable
)

// eval is the working state of one node while scoring.
type eval struct {
	status status
	value  float64 // unrounded
	parent float64 // what the parent aggregates
	shown  float64 // reported, rounded
	miss   Missing

	// answer and option are what a lookup by option reads: the state of
	// the indicator's answer, whatever its score.
	answer status
	option string

	override         int // index into overrides, or -1
	computed         float64
	computedPresent  bool
	overrideReplaced bool
}

func (e *eval) missing(r Reason, child, detail string) {
	e.status, e.value = statusMissing, 0
	e.miss = Missing{Reason: r, Child: child, Detail: detail}
}

func (e *eval) notApplicable(child string) {
	e.status, e.value = statusNotApplicable, 0
	e.miss = Missing{Reason: ReasonNotApplicable, Child: child}
}

func (e *eval) present(v float64) {
	e.status, e.value, e.miss = statusPresent, v, Missing{}
}

// Score computes one country's scores. It is a pure function of the
// compiled definition, the answers and the overrides: same input, same
// output, on any machine. It never panics; every score is within 0..100 or
// missing with a reason.
func (c *Compiled) Score(answers Answers, overrides []Override) Result {
	s := c.newSheet(answers)
	evs := make([]eval, len(c.nodes))
	for i := range evs {
		evs[i].override = -1
	}
	for k, o := range overrides {
		i, ok := c.byCode[o.Node]
		switch {
		case !ok:
			s.problems = append(s.problems, Problem{Path: fmt.Sprintf("overrides[%d].node", k), Code: o.Node, Message: "unknown node: override ignored"})
		case c.nodes[i].ind != nil && !c.nodes[i].scored:
			s.problems = append(s.problems, Problem{Path: fmt.Sprintf("overrides[%d].node", k), Code: o.Node, Message: "indicator is not scored: override ignored"})
		case evs[i].override != -1:
			s.problems = append(s.problems, Problem{Path: fmt.Sprintf("overrides[%d].node", k), Code: o.Node, Message: "node overridden twice: node left without a score"})
			evs[i].override = -2
		default:
			evs[i].override = k
		}
	}
	// Children come after their parent in pre-order, so a backward sweep
	// scores every child before its parent.
	for i := len(c.nodes) - 1; i >= 0; i-- {
		n, e := &c.nodes[i], &evs[i]
		switch {
		case n.ind != nil:
			s.scoreIndicator(i, e)
		case n.agg == AggregateLookup:
			scoreLookup(c, n, evs, e)
		default:
			aggregate(c, n.crule, n.children, evs, e)
		}
		if e.override != -1 {
			applyOverride(e, overrides)
		}
		finish(e, n.rounding)
	}
	res := Result{Nodes: make([]NodeScore, len(c.nodes)), Problems: s.problems}
	// One backing array for all reported numbers keeps a round of 200
	// countries from making a million tiny allocations.
	slab := make([]float64, 0, 2*(len(c.nodes)+len(c.variants)))
	misses := make([]Missing, 0, len(c.nodes)+len(c.variants))
	report := func(e *eval) (score, unrounded *float64, miss *Missing) {
		if e.status == statusPresent {
			slab = append(slab, e.shown, e.value)
			return &slab[len(slab)-2], &slab[len(slab)-1], nil
		}
		misses = append(misses, e.miss)
		return nil, nil, &misses[len(misses)-1]
	}
	for i := range c.nodes {
		e := &evs[i]
		ns := NodeScore{Code: c.nodes[i].code}
		ns.Score, ns.Unrounded, ns.Missing = report(e)
		if e.overrideReplaced {
			ao := &AppliedOverride{Reason: overrides[e.override].Reason}
			if e.computedPresent {
				computed := e.computed
				ao.Computed = &computed
			}
			ns.Override = ao
		}
		res.Nodes[i] = ns
	}
	for _, v := range c.variants {
		var e eval
		aggregate(c, v.crule, v.areas, evs, &e)
		finish(&e, v.rounding)
		vs := VariantScore{Name: v.name}
		vs.Score, vs.Unrounded, vs.Missing = report(&e)
		res.Variants = append(res.Variants, vs)
	}
	return res
}

func (s *sheet) scoreIndicator(i int, e *eval) {
	n := &s.c.nodes[i]
	e.answer, e.option = statusMissing, ""
	var score float64
	k := s.answer[i]
	switch {
	case !s.applicable(i):
		e.notApplicable("")
		e.miss.Detail = "its condition does not hold"
	case k == duplicateAnswer:
		e.missing(ReasonInvalidAnswer, "", "several answers to one indicator")
	case k == noAnswer || !s.answers[k].answered():
		e.missing(ReasonNotAnswered, "", "")
	case s.answers[k].NotApplicable:
		e.notApplicable("")
		e.miss.Detail = "answered not applicable"
	default:
		var detail string
		score, detail = n.scoreAnswer(s.answers[k])
		if detail != "" {
			e.missing(ReasonInvalidAnswer, "", detail)
		} else {
			e.present(score)
			e.option = s.answers[k].Option
		}
	}
	e.answer = e.status
	if !n.scored {
		e.missing(ReasonNotScored, "", "")
	}
}

// scoreAnswer returns the score of a well-formed answer, or why it is not
// well formed.
func (n *cnode) scoreAnswer(a Answer) (float64, string) {
	switch n.ind.Type {
	case SingleChoice, YesNo:
		if a.Number != nil || a.Text != "" {
			return 0, "a choice indicator takes an option only"
		}
		k := n.option(a.Option)
		if k < 0 {
			return 0, fmt.Sprintf("unknown option %q", a.Option)
		}
		if s := n.options[k].Score; s != nil {
			return *s, ""
		}
		return 0, ""
	case NumberType:
		if a.Number == nil || a.Option != "" || a.Text != "" {
			return 0, "a number indicator takes a number only"
		}
		x := *a.Number
		if !isFinite(x) || x < n.lo || x > n.hi {
			return 0, fmt.Sprintf("%v is outside the accepted range %s", x, rangeString(n.lo, n.hi))
		}
		if n.direct {
			return x, ""
		}
		for _, b := range n.bands {
			if b.contains(x) {
				return b.score, ""
			}
		}
		if n.scored {
			return 0, fmt.Sprintf("%v is in no band", x)
		}
		return 0, ""
	case TextType:
		if a.Text == "" || a.Option != "" || a.Number != nil {
			return 0, "a text indicator takes a text only"
		}
		return 0, ""
	}
	return 0, fmt.Sprintf("unknown answer type %q", n.ind.Type)
}

// aggregate applies a mean, weighted, min or max rule to the children
// (or a variant's areas). Not-applicable children never count, whatever
// the missing rule.
func aggregate(c *Compiled, r crule, children []int, evs []eval, e *eval) {
	var sum, wsum, extreme float64
	present, missing, contributing := 0, 0, 0
	firstMissing := ""
	add := func(v, w float64) {
		contributing++
		switch r.agg {
		case AggregateMin:
			if contributing == 1 || v < extreme {
				extreme = v
			}
		case AggregateMax:
			if contributing == 1 || v > extreme {
				extreme = v
			}
		default:
			sum += v * w
			wsum += w
		}
	}
	for j, k := range children {
		if !c.nodes[k].scored {
			continue
		}
		w := 1.0
		if r.weights != nil {
			w = r.weights[j]
		}
		switch ce := &evs[k]; ce.status {
		case statusPresent:
			present++
			add(ce.parent, w)
		case statusMissing:
			missing++
			if firstMissing == "" {
				firstMissing = c.nodes[k].code
			}
			if r.missing == MissingZero {
				add(0, w)
			}
		}
	}
	switch {
	case present == 0 && missing == 0:
		e.notApplicable("")
		e.miss.Detail = "no child applies"
	case present < r.minPresent:
		e.missing(ReasonBelowMinPresent, firstMissing, fmt.Sprintf("%d of %d children present, %d required", present, present+missing, r.minPresent))
	case r.missing == MissingRequire && missing > 0:
		e.missing(ReasonRequiredChildMissing, firstMissing, "")
	case contributing == 0:
		e.missing(ReasonNoChildPresent, firstMissing, "")
	case r.agg == AggregateMin || r.agg == AggregateMax:
		e.present(extreme)
	case wsum <= 0:
		e.missing(ReasonNoChildPresent, firstMissing, "the children present all have weight 0")
	default:
		e.present(sum / wsum)
	}
}

func scoreLookup(c *Compiled, n *cnode, evs []eval, e *eval) {
	lk := n.lookup
	allNA, present, firstAbsent := true, 0, ""
	state := func(k int) status {
		if lk.byScore {
			return evs[k].status
		}
		return evs[k].answer
	}
	for _, k := range n.children {
		st := state(k)
		if st != statusNotApplicable {
			allNA = false
		}
		if st == statusPresent {
			present++
		} else if firstAbsent == "" {
			firstAbsent = c.nodes[k].code
		}
	}
	switch {
	case allNA:
		e.notApplicable("")
		e.miss.Detail = "no child applies"
		return
	case present < n.minPresent:
		e.missing(ReasonBelowMinPresent, firstAbsent, fmt.Sprintf("%d of %d children present, %d required", present, len(n.children), n.minPresent))
		return
	}
rows:
	for _, row := range lk.rows {
		for j, cell := range row.cells {
			k := n.children[j]
			switch {
			case cell.any:
				continue
			case !cell.valid || state(k) != statusPresent:
				continue rows
			case lk.byScore && math.Abs(evs[k].parent-cell.value.score) > weightTolerance:
				continue rows
			case !lk.byScore && evs[k].option != cell.value.option:
				continue rows
			}
		}
		e.present(row.score)
		return
	}
	switch {
	case firstAbsent != "":
		e.missing(ReasonRequiredChildMissing, firstAbsent, "no row matches without it")
	case lk.hasDefault:
		e.present(lk.def)
	default:
		e.missing(ReasonLookupNoMatch, "", "")
	}
}

func applyOverride(e *eval, overrides []Override) {
	if e.override < 0 {
		e.missing(ReasonInvalidOverride, "", "overridden twice")
		return
	}
	o := overrides[e.override]
	e.computed, e.computedPresent = e.value, e.status == statusPresent
	e.overrideReplaced = true
	if !isFinite(o.Score) || o.Score < 0 || o.Score > 100 {
		e.missing(ReasonInvalidOverride, "", fmt.Sprintf("override score %v is outside 0..100", o.Score))
		return
	}
	e.present(o.Score)
}

// finish clamps away floating-point drift (weights summing to 1 within
// 1e-9 can yield 100.00000000000001) and rounds the reported value.
func finish(e *eval, r *Rounding) {
	if e.status != statusPresent {
		e.value, e.parent, e.shown = 0, 0, 0
		return
	}
	if math.IsNaN(e.value) {
		e.missing(ReasonInvalidAnswer, "", "not a number")
		return
	}
	e.value = min(max(e.value, 0), 100)
	e.parent, e.shown = e.value, e.value
	if r != nil {
		e.shown = roundScore(e.value, r.Decimals, r.Mode)
		if r.ParentUsesRounded {
			e.parent = e.shown
		}
	}
}

// roundScore rounds x to decimals places, deciding ties on the shortest
// decimal form of x: 0.125 is a tie, and 2.675 (stored as 2.67499999...)
// is one too, as it is on paper.
func roundScore(x float64, decimals int, mode RoundingMode) float64 {
	if !isFinite(x) || decimals < 0 || decimals > maxRoundingDecimals {
		return x
	}
	s := strconv.FormatFloat(math.Abs(x), 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) <= decimals {
		return x
	}
	digits := []byte(intPart + frac[:decimals])
	rest := frac[decimals:]
	up := false
	switch {
	case rest[0] > '5':
		up = true
	case rest[0] == '5' && strings.TrimRight(rest[1:], "0") != "":
		up = true
	case rest[0] == '5' && mode == RoundHalfEven:
		up = (digits[len(digits)-1]-'0')%2 == 1
	case rest[0] == '5':
		up = true
	}
	if up {
		k := len(digits) - 1
		for ; k >= 0; k-- {
			if digits[k] < '9' {
				digits[k]++
				break
			}
			digits[k] = '0'
		}
		if k < 0 {
			digits = append([]byte{'1'}, digits...)
		}
	}
	intLen := len(digits) - decimals
	out, err := strconv.ParseFloat(string(digits[:intLen])+"."+string(digits[intLen:]), 64)
	if err != nil {
		return x
	}
	if x < 0 {
		return -out
	}
	return out
}

func formatScore(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
