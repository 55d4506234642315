package review

import (
	"fmt"
	"slices"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
)

// Comment is one message of an answer's thread, open to the sheet's expert, reviewers and
// coordinators. Nobody deletes a comment, not even their own: the thread is part of the record
// of how an answer was reached. Only its author edits it, and an edit keeps the earlier text.
type Comment struct {
	// ID numbers the answer's comments from 1 in order of posting; a reply names its parent's.
	ID      int
	Author  string
	Role    auth.Role
	Text    string
	ReplyTo int // 0 starts a thread
	// Version is the answer version the comment was posted on.
	Version    int
	Resolved   bool
	ResolvedBy string
	// Earlier holds the texts the comment had before each edit, oldest first.
	Earlier  []CommentText
	At       time.Time
	EditedAt time.Time
}

// CommentText is a text a comment once had, and when it was written.
type CommentText struct {
	Text string
	At   time.Time
}

// AddComment posts a comment on an answer, or a reply to comment replyTo (0 for none).
func (s *Sheet) AddComment(actor Actor, indicator, text string, replyTo int) (Change, error) {
	a := s.Answer(indicator)
	if _, err := s.checkAnswerMove(actor, MoveComment, a); err != nil {
		return Change{}, err
	}
	var p problems
	checkText(&p, "text", text, MaxComment, true)
	if replyTo != 0 && (replyTo < 0 || replyTo > len(a.Comments)) {
		p.add("reply_to", "no such comment on this answer")
	}
	if err := p.err(); err != nil {
		return Change{}, err
	}
	return Change{Move: MoveComment, Actor: actor, Indicator: indicator, Version: a.Version, Comment: &Comment{
		ID: len(a.Comments) + 1, Author: actor.ID, Role: acting(actor.Role), Text: text, ReplyTo: replyTo, Version: a.Version,
	}}, nil
}

// EditComment replaces the text of one's own comment; the earlier text is kept.
func (s *Sheet) EditComment(actor Actor, indicator string, id int, text string) (Change, error) {
	a, cm, err := s.comment(actor, MoveEditComment, indicator, id)
	if err != nil {
		return Change{}, err
	}
	if cm.Author != actor.ID {
		return Change{}, fmt.Errorf("%w: nobody edits another's comment", ErrForbidden)
	}
	var p problems
	checkText(&p, "text", text, MaxComment, true)
	if err := p.err(); err != nil {
		return Change{}, err
	}
	return Change{Move: MoveEditComment, Actor: actor, Indicator: indicator, Version: a.Version, Comment: &Comment{ID: id, Text: text}}, nil
}

// ResolveComment marks a comment resolved (or open again). Its author and coordinators may.
func (s *Sheet) ResolveComment(actor Actor, indicator string, id int, resolved bool) (Change, error) {
	a, cm, err := s.comment(actor, MoveResolveComment, indicator, id)
	if err != nil {
		return Change{}, err
	}
	if cm.Author != actor.ID && acting(actor.Role) != auth.RoleCoordinator {
		return Change{}, fmt.Errorf("%w: only its author or a coordinator resolves a comment", ErrForbidden)
	}
	if cm.Resolved == resolved {
		already := "open"
		if resolved {
			already = "resolved"
		}
		return Change{}, fmt.Errorf("%w: comment %d is already %s", ErrInvalidTransition, id, already)
	}
	return Change{Move: MoveResolveComment, Actor: actor, Indicator: indicator, Version: a.Version, Comment: &Comment{ID: id, Resolved: resolved}}, nil
}

// comment checks a move on an existing comment and returns it.
func (s *Sheet) comment(actor Actor, move Move, indicator string, id int) (Answer, Comment, error) {
	if err := checkActor(actor, move); err != nil {
		return Answer{}, Comment{}, err
	}
	if s.state() == SheetLocked {
		return Answer{}, Comment{}, fmt.Errorf("%w: %s", ErrLocked, move)
	}
	a := s.Answer(indicator)
	i := slices.IndexFunc(a.Comments, func(c Comment) bool { return c.ID == id })
	if i < 0 {
		return Answer{}, Comment{}, fmt.Errorf("%w: comment %d on %s", ErrNotFound, id, indicator)
	}
	return a, a.Comments[i], nil
}

// applyComment folds a comment move into the answer's thread.
func applyComment(a *Answer, c Change, at time.Time) {
	if c.Move == MoveComment {
		cm := *c.Comment
		cm.At = at
		a.Comments = append(slices.Clip(a.Comments), cm)
		return
	}
	// The thread is shared with copies of the sheet: change a copy of it.
	a.Comments = slices.Clone(a.Comments)
	i := slices.IndexFunc(a.Comments, func(x Comment) bool { return x.ID == c.Comment.ID })
	if i < 0 {
		return
	}
	cm := &a.Comments[i]
	switch c.Move {
	case MoveEditComment:
		written := cm.At
		if !cm.EditedAt.IsZero() {
			written = cm.EditedAt
		}
		cm.Earlier = append(slices.Clip(cm.Earlier), CommentText{Text: cm.Text, At: written})
		cm.Text, cm.EditedAt = c.Comment.Text, at
	case MoveResolveComment:
		cm.Resolved, cm.ResolvedBy = c.Comment.Resolved, c.Actor.ID
	}
}
