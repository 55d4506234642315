package review

// Progress counts a sheet's answers per review state, for the dashboard. Answers marked
// inapplicable at the last submission are left out.
type Progress struct {
	Answers          int // answers the review knows (written at least once), applicable
	Draft            int
	Submitted        int // waiting for verdicts
	Approved         int
	ChangesRequested int
	Revised          int
	Disputed         int
	Resolved         int
	// Reviewed counts the answers whose current review reached a decision: approved, changes
	// requested, disputed or resolved.
	Reviewed int
	// OpenComments counts comments not marked resolved.
	OpenComments int
}

// Progress counts the sheet's answers per state, from the projection.
func (s *Sheet) Progress() Progress {
	var p Progress
	for a := range s.EachAnswer() {
		if a.Inapplicable || a.Version == 0 {
			continue
		}
		p.Answers++
		switch a.State {
		case AnswerDraft:
			p.Draft++
		case AnswerSubmitted:
			p.Submitted++
		case AnswerApproved:
			p.Approved++
		case AnswerChangesRequested:
			p.ChangesRequested++
		case AnswerRevised:
			p.Revised++
		case AnswerDisputed:
			p.Disputed++
		case AnswerResolved:
			p.Resolved++
		}
		for _, c := range a.Comments {
			if !c.Resolved {
				p.OpenComments++
			}
		}
	}
	p.Reviewed = p.Approved + p.ChangesRequested + p.Disputed + p.Resolved
	return p
}
