package notify

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/review"
)

var (
	expert      = review.Actor{ID: "u_eva", Role: auth.RoleExpert}
	reviewer    = review.Actor{ID: "u_rui", Role: auth.RoleReviewer}
	coordinator = review.Actor{ID: "u_cleo", Role: auth.RoleCoordinator}
)

func step(code string, from, to review.AnswerState) review.AnswerStep {
	return review.AnswerStep{Indicator: code, From: from, To: to}
}

func sheet(move review.Move, from, to review.SheetState, auto bool) review.SheetStep {
	return review.SheetStep{Move: move, From: from, To: to, Automatic: auto}
}

func TestFrom(t *testing.T) {
	type want struct {
		kind       Kind
		role       auth.Role
		indicators []string
	}
	tests := []struct {
		name  string
		moves []review.Change
		want  []want
	}{
		{"save", []review.Change{{Move: review.MoveSave, Actor: expert, Indicator: "A1",
			Sheet: []review.SheetStep{sheet(review.MoveSave, review.SheetNotStarted, review.SheetInProgress, false)}}}, nil},
		{"submit", []review.Change{{Move: review.MoveSubmit, Actor: expert,
			Answers: []review.AnswerStep{step("A1", review.AnswerDraft, review.AnswerSubmitted)},
			Sheet:   []review.SheetStep{sheet(review.MoveSubmit, review.SheetInProgress, review.SheetSubmitted, false)}}},
			[]want{{KindSheetSubmitted, auth.RoleReviewer, nil}}},
		{"approval that leaves the sheet in review", []review.Change{{Move: review.MoveApprove, Actor: reviewer, Indicator: "A1",
			Sheet: []review.SheetStep{sheet(review.MoveStartReview, review.SheetSubmitted, review.SheetInReview, true)}}}, nil},
		{"request completing the review returns the sheet", []review.Change{{Move: review.MoveRequestChanges, Actor: reviewer, Indicator: "A3",
			Answers: []review.AnswerStep{step("A3", review.AnswerSubmitted, review.AnswerChangesRequested)},
			Sheet:   []review.SheetStep{sheet(review.MoveReturn, review.SheetInReview, review.SheetReturned, true)}}},
			[]want{{KindChangesRequested, auth.RoleExpert, []string{"A3"}}, {KindSheetReturned, auth.RoleExpert, nil}}},
		{"an approval completing a disagreement asks for changes", []review.Change{{Move: review.MoveApprove, Actor: reviewer, Indicator: "A2",
			Answers: []review.AnswerStep{step("A2", review.AnswerSubmitted, review.AnswerChangesRequested)}}},
			[]want{{KindChangesRequested, auth.RoleExpert, []string{"A2"}}}},
		{"bulk approval to ready_to_lock", []review.Change{
			{Move: review.MoveApprove, Actor: reviewer, Indicator: "A1", Answers: []review.AnswerStep{step("A1", review.AnswerSubmitted, review.AnswerApproved)}},
			{Move: review.MoveApprove, Actor: reviewer, Indicator: "A2", Answers: []review.AnswerStep{step("A2", review.AnswerSubmitted, review.AnswerApproved)},
				Sheet: []review.SheetStep{sheet(review.MoveReadyToLock, review.SheetInReview, review.SheetReadyToLock, true)}}},
			[]want{{KindReadyToLock, auth.RoleCoordinator, nil}}},
		{"send back", []review.Change{{Move: review.MoveSendBack, Actor: coordinator, Indicator: "A1",
			Answers: []review.AnswerStep{step("A1", review.AnswerApproved, review.AnswerChangesRequested)},
			Sheet:   []review.SheetStep{sheet(review.MoveReturn, review.SheetReadyToLock, review.SheetReturned, true)}}},
			[]want{{KindSentBack, auth.RoleExpert, []string{"A1"}}, {KindSheetReturned, auth.RoleExpert, nil}}},
		{"dispute", []review.Change{{Move: review.MoveDispute, Actor: expert, Indicator: "A2",
			Answers: []review.AnswerStep{step("A2", review.AnswerChangesRequested, review.AnswerDisputed)}}},
			[]want{{KindDisputed, auth.RoleCoordinator, []string{"A2"}}}},
		{"resubmit", []review.Change{{Move: review.MoveResubmit, Actor: expert,
			Answers: []review.AnswerStep{step("A3", review.AnswerRevised, review.AnswerSubmitted), step("A1", review.AnswerRevised, review.AnswerSubmitted)},
			Sheet:   []review.SheetStep{sheet(review.MoveResubmit, review.SheetReturned, review.SheetInReview, false)}}},
			[]want{{KindSheetResubmitted, auth.RoleReviewer, []string{"A1", "A3"}}}},
		{"resubmit with nothing left to review", []review.Change{{Move: review.MoveResubmit, Actor: expert,
			Sheet: []review.SheetStep{sheet(review.MoveResubmit, review.SheetReturned, review.SheetInReview, false),
				sheet(review.MoveReadyToLock, review.SheetInReview, review.SheetReadyToLock, true)}}},
			[]want{{KindSheetResubmitted, auth.RoleReviewer, nil}, {KindReadyToLock, auth.RoleCoordinator, nil}}},
		{"coordinator's return", []review.Change{{Move: review.MoveReturn, Actor: coordinator, Reason: "r",
			Sheet: []review.SheetStep{sheet(review.MoveReturn, review.SheetInReview, review.SheetReturned, false)}}},
			[]want{{KindSheetReturned, auth.RoleExpert, nil}}},
		{"reopen", []review.Change{{Move: review.MoveReopen, Actor: coordinator, Reason: "erratum",
			Sheet: []review.SheetStep{sheet(review.MoveReopen, review.SheetLocked, review.SheetReadyToLock, false)}}},
			[]want{{KindReadyToLock, auth.RoleCoordinator, nil}}},
		{"lock", []review.Change{{Move: review.MoveLock, Actor: coordinator,
			Sheet: []review.SheetStep{sheet(review.MoveLock, review.SheetReadyToLock, review.SheetLocked, false)}}}, nil},
		{"comment", []review.Change{{Move: review.MoveComment, Actor: reviewer, Indicator: "A1"}}, nil},
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Entry{ID: "sheet/r1/AT/000000000007", Round: "r1", Country: "AT", Seq: 7, Time: at, Moves: tt.moves}
			got := From(e)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d notifications %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				n := got[i]
				if n.Kind != w.kind || n.Audience.Role != w.role || !slices.Equal(n.Indicators, w.indicators) {
					t.Errorf("notification %d = %s to %s on %v, want %s to %s on %v", i, n.Kind, n.Audience.Role, n.Indicators, w.kind, w.role, w.indicators)
				}
				if n.ID != e.ID+"/"+string(w.kind) || n.Audience.Round != "r1" || n.Audience.Country != "AT" || n.Entry != e.ID || !n.Time.Equal(at) {
					t.Errorf("notification %d: id %q, audience %+v, entry %q, time %v", i, n.ID, n.Audience, n.Entry, n.Time)
				}
				if n.ActorRole != tt.moves[0].Actor.Role {
					t.Errorf("actor role %q, want %q", n.ActorRole, tt.moves[0].Actor.Role)
				}
			}
		})
	}
}

func TestEntryID(t *testing.T) {
	if got := EntryID("r1", "AT", 42); got != "sheet/r1/AT/000000000042" {
		t.Errorf("EntryID = %s", got)
	}
	for _, tt := range []struct {
		id, round, country string
		seq                int64
		ok                 bool
	}{
		{"sheet/r1/AT/000000000001", "r1", "AT", 1, true},
		{"round/r1/000000000001", "", "", 0, false},
		{"sheet//AT/000000000001", "", "", 0, false},
		{"sheet/r1/AT", "", "", 0, false},
		{"sheet/r1/AT/x", "", "", 0, false},
	} {
		r, c, seq, ok := ParseEntryID(tt.id)
		if r != tt.round || c != tt.country || seq != tt.seq || ok != tt.ok {
			t.Errorf("ParseEntryID(%q) = %q, %q, %d, %v", tt.id, r, c, seq, ok)
		}
	}
}

func TestSignVerify(t *testing.T) {
	at := time.Unix(1767268800, 0)
	body := []byte(`{"id":"sheet/r1/AT/000000000001/sheet.submitted"}`)
	sig := Sign("whsec_test", at, body)
	// The value a receiver computes independently: HMAC-SHA256("whsec_test", "1767268800." + body).
	const want = "sha256=58a394ce742cbb759778abc1ba47af00d5dfb30fe24bd89e4379c39b6086d791"
	if sig != want {
		t.Errorf("Sign = %s, want %s (computed with Python's hmac)", sig, want)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	tests := []struct {
		name            string
		secret, sig, ts string
		body            []byte
		now             time.Time
		want            error
	}{
		{"valid", "whsec_test", sig, ts, body, at.Add(time.Minute), nil},
		{"other secret", "whsec_other", sig, ts, body, at, ErrBadSignature},
		{"body changed", "whsec_test", sig, ts, append([]byte(nil), append(body, ' ')...), at, ErrBadSignature},
		{"timestamp changed", "whsec_test", sig, strconv.FormatInt(at.Unix()+1, 10), body, at, ErrBadSignature},
		{"no prefix", "whsec_test", sig[len("sha256="):], ts, body, at, ErrBadSignature},
		{"not hex", "whsec_test", "sha256=zz", ts, body, at, ErrBadSignature},
		{"old replay", "whsec_test", sig, ts, body, at.Add(10 * time.Minute), ErrTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.secret, tt.sig, tt.ts, tt.body, tt.now, 5*time.Minute); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: 30 * time.Second, Max: time.Hour, MaxAttempts: 8}
	tests := []struct {
		n        int
		min, max time.Duration
		again    bool
	}{
		{1, 15 * time.Second, 30 * time.Second, true},
		{2, 30 * time.Second, time.Minute, true},
		{3, time.Minute, 2 * time.Minute, true},
		{7, 16 * time.Minute, 32 * time.Minute, true},
		{8, 0, 0, false}, // the last attempt
		{0, 0, 0, false},
	}
	for _, tt := range tests {
		lo, again := b.Delay(tt.n, func() float64 { return 0 })
		hi, _ := b.Delay(tt.n, func() float64 { return 0.999999 })
		if again != tt.again || lo != tt.min || hi > tt.max || hi < tt.max-time.Second && tt.again {
			t.Errorf("Delay(%d) = [%v, %v], %v; want [%v, %v], %v", tt.n, lo, hi, again, tt.min, tt.max, tt.again)
		}
	}
	capped := Backoff{Base: time.Minute, Max: 5 * time.Minute, MaxAttempts: 100}
	if d, _ := capped.Delay(50, func() float64 { return 0.999999 }); d > 5*time.Minute {
		t.Errorf("Delay(50) = %v, over the cap", d)
	}
	total := time.Duration(0)
	for n := 1; ; n++ {
		d, again := DefaultBackoff.Delay(n, func() float64 { return 0.999999 })
		if !again {
			break
		}
		total += d
	}
	if total < 2*time.Hour || total > 2*time.Hour+10*time.Minute {
		t.Errorf("DefaultBackoff spans at most %v; docs/notifications.md says about two hours", total)
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://hooks.example.org/x", false, true},
		{"http://localhost:8080/x", false, true},
		{"http://127.0.0.1:9/x", false, true},
		{"http://[::1]:9/x", false, true},
		{"http://hooks.example.org/x", false, false},
		{"http://hooks.example.org/x", true, true},
		{"ftp://hooks.example.org/x", true, false},
		{"https://user:pw@hooks.example.org/x", false, false},
		{"https://hooks.example.org/x#frag", false, false},
		{"/relative", false, false},
		{"", false, false},
		{"https://" + string(make([]byte, MaxURL)), false, false},
	}
	for _, tt := range tests {
		if got := CheckURL(tt.url, tt.allowHTTP); (got == "") != tt.ok {
			t.Errorf("CheckURL(%.40q, %v) = %q, want ok %v", tt.url, tt.allowHTTP, got, tt.ok)
		}
	}
}

func TestStateOf(t *testing.T) {
	retry := time.Now()
	tests := []struct {
		name     string
		attempts []Attempt
		want     string
	}{
		{"none", nil, DeliveryPending},
		{"sending", []Attempt{{N: 1, Status: StatusSending}}, DeliveryPending},
		{"delivered", []Attempt{{N: 1, Status: StatusDelivered}}, DeliveryDelivered},
		{"failed, retry due", []Attempt{{N: 1, Status: StatusFailed, RetryAt: retry}}, DeliveryPending},
		{"failed twice then delivered", []Attempt{{N: 1, Status: StatusFailed}, {N: 2, Status: StatusFailed}, {N: 3, Status: StatusDelivered}}, DeliveryDelivered},
		{"abandoned, retry sending", []Attempt{{N: 1, Status: StatusAbandoned}, {N: 2, Status: StatusSending}}, DeliveryPending},
		{"failed for good", []Attempt{{N: 1, Status: StatusFailed}, {N: 2, Status: StatusFailed}}, DeliveryFailed},
	}
	for _, tt := range tests {
		if got := StateOf(tt.attempts); got != tt.want {
			t.Errorf("%s: StateOf = %s, want %s", tt.name, got, tt.want)
		}
	}
}
