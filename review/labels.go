package review

import (
	"strconv"

	"github.com/expertsurvey/expertsurvey/auth"
)

// Labels says how a viewer sees the participants of a sheet. In a blind round, experts and
// reviewers see each other only as "Expert" and "Reviewer 1", "Reviewer 2", ... (and
// coordinators as "Coordinator"); coordinators and admins see everyone by name. Every view a
// person can read (answers, history, comments, timeline, exports, audit) labels its actors
// through the same Labels, so that no view gives away what another hides.
type Labels struct {
	byID map[string]string
	hide bool
}

// NewLabels labels participants (Sheet.Participants: everyone who acted on the sheet, in
// order of first appearance, so that Reviewer 1 is the same person in every view of the sheet)
// for viewer. name gives the display name of an id for views that show names; nil, or an empty
// name, shows the id.
func NewLabels(viewer Actor, blind bool, participants []Participant, name func(id string) string) Labels {
	role := acting(viewer.Role)
	l := Labels{byID: make(map[string]string, len(participants)), hide: blind && role != auth.RoleCoordinator}
	if !l.hide {
		for _, p := range participants {
			l.byID[p.ID] = p.ID
			if name != nil && name(p.ID) != "" {
				l.byID[p.ID] = name(p.ID)
			}
		}
		return l
	}
	experts := 0
	for _, p := range participants {
		if acting(p.Role) == auth.RoleExpert {
			experts++
		}
	}
	var expert, reviewer int
	for _, p := range participants {
		switch acting(p.Role) {
		case auth.RoleExpert:
			expert++
			l.byID[p.ID] = "Expert"
			if experts > 1 {
				l.byID[p.ID] = "Expert " + strconv.Itoa(expert)
			}
		case auth.RoleReviewer:
			reviewer++
			l.byID[p.ID] = "Reviewer " + strconv.Itoa(reviewer)
		default:
			l.byID[p.ID] = "Coordinator"
		}
	}
	return l
}

// Of returns the label of id. An id that is not a participant shows as itself, or as
// "Participant" when identities are hidden, so that an incomplete list never leaks a name.
func (l Labels) Of(id string) string {
	if id == "" {
		return ""
	}
	if s, ok := l.byID[id]; ok {
		return s
	}
	if l.hide {
		return "Participant"
	}
	return id
}

// Hidden tells whether the viewer sees labels instead of identities.
func (l Labels) Hidden() bool { return l.hide }
