package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func testHasher(t testing.TB) *Hasher {
	t.Helper()
	h, err := NewHasher(MinParams, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	h := testHasher(t)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id with the minimum parameters", enc)
	}
	if ok, err := h.Verify(ctx, "correct horse battery staple", enc); err != nil || !ok {
		t.Fatalf("Verify(right) = %v, %v; want true", ok, err)
	}
	if ok, err := h.Verify(ctx, "correct horse battery stapler", enc); err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false", ok, err)
	}
	again, _ := h.Hash(ctx, "correct horse battery staple")
	if again == enc {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	if h.NeedsRehash(enc) {
		t.Fatal("fresh hash needs rehash")
	}
}

func TestHashFromOtherParamsStillVerifies(t *testing.T) {
	ctx := context.Background()
	stronger, err := NewHasher(Params{Memory: 32 * 1024, Time: 3, Threads: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	h := testHasher(t)
	enc, _ := h.Hash(ctx, "a long enough passphrase")
	if ok, err := stronger.Verify(ctx, "a long enough passphrase", enc); err != nil || !ok {
		t.Fatalf("hash from older params: Verify = %v, %v; want true", ok, err)
	}
	if !stronger.NeedsRehash(enc) {
		t.Fatal("hash with lower params does not need rehash")
	}
}

func TestHasherRefusesParamsBelowFloor(t *testing.T) {
	for _, p := range []Params{
		{Memory: 19*1024 - 1, Time: 2, Threads: 1},
		{Memory: 64 * 1024, Time: 1, Threads: 1},
		{Memory: 64 * 1024, Time: 2, Threads: 0},
	} {
		if _, err := NewHasher(p, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewHasher(%+v) = %v; want ErrInvalid", p, err)
		}
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	h := testHasher(t)
	for _, enc := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // memory bomb
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if ok, err := h.Verify(context.Background(), "whatever password", enc); err == nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want an error", enc, ok, err)
		}
	}
}

func TestHashWaitsForASlotAndHonoursCancel(t *testing.T) {
	h, _ := NewHasher(MinParams, 1)
	h.slots <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "a long enough passphrase"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with all slots busy and ctx cancelled = %v; want context.Canceled", err)
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		password, email string
		ok              bool
	}{
		{"short", "a@example.org", false},
		{"elevenchars", "a@example.org", false},
		{"password1234", "a@example.org", false},
		{"PassWord1234", "a@example.org", false}, // case-insensitive list
		{"qwertyuiop123", "a@example.org", false},
		{"123456789012", "a@example.org", false},
		{"zzzzzzzzzzzzzz", "a@example.org", false},
		{"maria.gonzalez", "Maria.Gonzalez@example.org", false}, // the email's local part
		{"maria.gonzalez@example.org", "maria.gonzalez@example.org", false},
		{"correct horse battery staple", "a@example.org", true},
		{"Zürich-Bern-2025!", "a@example.org", true},
		{strings.Repeat("ab", 600), "a@example.org", false},
	}
	for _, tt := range tests {
		err := CheckPassword(tt.password, tt.email)
		if got := err == nil; got != tt.ok {
			t.Errorf("CheckPassword(%q) = %v; want ok=%v", tt.password, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckPassword(%q) = %v; want ErrInvalid", tt.password, err)
		}
	}
	if n := len(commonPasswords); n < 300 {
		t.Errorf("common password list has %d entries; want a few hundred", n)
	}
}
