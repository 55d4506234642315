package review

import (
	"iter"
	"slices"
	"strings"
	"unsafe"
)

// answerList holds a sheet's review answers in indicator order, in chunks that are never
// changed once a sheet refers to them: setting an answer copies its chunk and the chunk list,
// so a move costs the same on a sheet of 50 answers as on one of 2,000, and copying a Sheet
// (a struct copy) is enough for Apply on the copy to leave the original as it was. The round
// keeps sheets in a cache shared by concurrent requests, which rely on that.
type answerList struct {
	chunks []*chunk // none empty
	n      int
}

// chunk is a run of answers in indicator order; held by pointer so that copying the chunk list
// costs a word per chunk.
type chunk struct {
	answers []Answer
	bytes   int64 // estimated memory of the answers, for SizeBytes
}

func newChunk(answers []Answer) *chunk {
	c := &chunk{answers: answers}
	for i := range answers {
		c.bytes += answers[i].sizeBytes()
	}
	return c
}

// chunkSize bounds the answers a move copies; a review Answer is a few hundred bytes.
const chunkSize = 32

// chunkFor returns the chunk holding code, or the one it would be inserted into.
func (l *answerList) chunkFor(code string) (int, bool) {
	if len(l.chunks) == 0 {
		return 0, false
	}
	ci, _ := slices.BinarySearchFunc(l.chunks, code, func(c *chunk, code string) int {
		return strings.Compare(c.answers[len(c.answers)-1].Indicator, code)
	})
	return min(ci, len(l.chunks)-1), true
}

// get returns the answer to code; it is shared with copies of the sheet: read it only.
func (l *answerList) get(code string) (*Answer, bool) {
	ci, ok := l.chunkFor(code)
	if !ok {
		return nil, false
	}
	ch := l.chunks[ci].answers
	i, ok := slices.BinarySearchFunc(ch, code, byIndicator)
	if !ok {
		return nil, false
	}
	return &ch[i], true
}

// set replaces or inserts a, copying the chunk it lands in and the chunk list.
func (l *answerList) set(a Answer) {
	ci, ok := l.chunkFor(a.Indicator)
	if !ok {
		l.chunks, l.n = []*chunk{newChunk([]Answer{a})}, 1
		return
	}
	ch := slices.Clone(l.chunks[ci].answers)
	if i, found := slices.BinarySearchFunc(ch, a.Indicator, byIndicator); found {
		ch[i] = a
	} else {
		ch = slices.Insert(ch, i, a)
		l.n++
	}
	chunks := slices.Clone(l.chunks)
	if len(ch) > 2*chunkSize {
		half := len(ch) / 2
		chunks = slices.Replace(chunks, ci, ci+1, newChunk(ch[:half:half]), newChunk(ch[half:]))
	} else {
		chunks[ci] = newChunk(ch)
	}
	l.chunks = chunks
}

// all yields every answer in indicator order.
func (l *answerList) all() iter.Seq[Answer] {
	return func(yield func(Answer) bool) {
		for _, ch := range l.chunks {
			for _, a := range ch.answers {
				if !yield(a) {
					return
				}
			}
		}
	}
}

// EachAnswer yields the answers the review knows, in indicator order.
func (s *Sheet) EachAnswer() iter.Seq[Answer] { return s.answers.all() }

// Answers returns a copy of the answers the review knows, in indicator order.
func (s *Sheet) Answers() []Answer { return slices.Collect(s.answers.all()) }

// AnswerCount is how many answers the review knows.
func (s *Sheet) AnswerCount() int { return s.answers.n }

// SetAnswers replaces the answers (sorted by indicator, as Answers returns them): the stores
// rebuild a sheet from its stored form with it.
func (s *Sheet) SetAnswers(answers []Answer) {
	s.answers = answerList{n: len(answers)}
	for len(answers) > 0 {
		n := min(chunkSize, len(answers))
		s.answers.chunks = append(s.answers.chunks, newChunk(slices.Clone(answers[:n])))
		answers = answers[n:]
	}
}

// setAnswer writes one answer; the only way the answers change.
func (s *Sheet) setAnswer(a Answer) { s.answers.set(a) }

// SizeBytes estimates the memory the review projection holds, for caches bounded by bytes.
func (s *Sheet) SizeBytes() int64 {
	n := int64(unsafe.Sizeof(*s)) + int64(len(s.History))*int64(unsafe.Sizeof(StatusChange{})) +
		int64(len(s.Participants))*int64(unsafe.Sizeof(Participant{})) + 8*int64(len(s.answers.chunks))
	for _, h := range s.History {
		n += int64(len(h.By) + len(h.Reason))
	}
	for _, c := range s.answers.chunks {
		n += c.bytes
	}
	return n
}

func (a *Answer) sizeBytes() int64 {
	n := int64(unsafe.Sizeof(*a)) + int64(len(a.Indicator)+len(a.Author)) + 24*int64(len(a.Authors))
	for _, v := range a.Verdicts {
		n += int64(unsafe.Sizeof(v)) + int64(len(v.Reviewer)+len(v.Reason)+len(v.SuggestedOption))
	}
	for _, r := range a.Revisions {
		n += int64(unsafe.Sizeof(r)) + int64(len(r.By)+len(r.Reason))
	}
	for _, r := range a.Rebuttals {
		n += int64(unsafe.Sizeof(r)) + int64(len(r.Expert)+len(r.Text))
	}
	for _, r := range a.SendBacks {
		n += int64(unsafe.Sizeof(r)) + int64(len(r.Coordinator)+len(r.Reason))
	}
	for _, r := range a.Adjudications {
		n += int64(unsafe.Sizeof(r)) + int64(len(r.Coordinator)+len(r.Option)+len(r.Text)+len(r.Rationale))
	}
	for _, r := range a.Overrides {
		n += int64(unsafe.Sizeof(r)) + int64(len(r.Coordinator)+len(r.Reason))
	}
	for _, c := range a.Comments {
		n += int64(unsafe.Sizeof(c)) + int64(len(c.Author)+len(c.Text)+len(c.ResolvedBy))
		for _, e := range c.Earlier {
			n += int64(unsafe.Sizeof(e)) + int64(len(e.Text))
		}
	}
	return n
}
