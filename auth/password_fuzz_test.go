package auth

import (
	"testing"
)

// FuzzDecodeHash feeds arbitrary stored hashes to the PHC parser: it must never panic, and what
// it accepts stays within maxParams (so that a corrupt or hostile record cannot make a sign-in
// allocate gigabytes) with sane salt and key lengths.
func FuzzDecodeHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5")
	f.Add("$argon2i$v=19$m=65536,t=3,p=4$c2FsdA$a2V5")
	f.Add("")
	f.Fuzz(func(t *testing.T, encoded string) {
		p, salt, key, err := decodeHash(encoded)
		if err != nil {
			return
		}
		if p.Memory == 0 || p.Memory > maxParams.Memory || p.Time == 0 || p.Time > maxParams.Time || p.Threads == 0 || p.Threads > maxParams.Threads {
			t.Fatalf("accepted params %+v beyond %+v", p, maxParams)
		}
		if len(salt) < 8 || len(key) < 16 || len(key) > 64 {
			t.Fatalf("accepted salt of %d and key of %d bytes", len(salt), len(key))
		}
	})
}
