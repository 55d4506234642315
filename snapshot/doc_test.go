package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// docBlock returns the fenced block that follows marker in
// docs/snapshot-hash.md, without its fences.
func docBlock(t *testing.T, marker string) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/snapshot-hash.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- "+marker+" -->\n")
	if !ok {
		t.Fatalf("docs/snapshot-hash.md has no %s marker", marker)
	}
	lines := strings.Split(rest, "\n")
	if !strings.HasPrefix(lines[0], "```") {
		t.Fatalf("%s: no fenced block after the marker", marker)
	}
	var body []string
	for _, l := range lines[1:] {
		if l == "```" {
			return strings.Join(body, "\n")
		}
		body = append(body, l)
	}
	t.Fatalf("%s: unterminated block", marker)
	return ""
}

// TestDocWorkedExample proves the documentation: the service serialises the
// worked example to exactly the documented bytes, whose SHA-256 is the
// documented hash and the snapshot's Hash.
func TestDocWorkedExample(t *testing.T) {
	line, wantHash := docBlock(t, "canonical-example"), docBlock(t, "canonical-example-hash")
	s := mustBuild(t, tiny(t), example())
	got, err := Canonical(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != line {
		t.Errorf("canonical form differs from the documented one:\n got %s\nwant %s", got, line)
	}
	sum := sha256.Sum256([]byte(line))
	if h := hex.EncodeToString(sum[:]); h != wantHash {
		t.Errorf("SHA-256 of the documented line is %s, the documented hash %s", h, wantHash)
	}
	if s.Hash != wantHash {
		t.Errorf("Hash = %s, documented %s", s.Hash, wantHash)
	}
}

// TestDocHashWithEncodingJSON recomputes the documented hash with nothing
// but encoding/json, sort-by-map and crypto/sha256: a reader's first
// attempt gives the same bytes.
func TestDocHashWithEncodingJSON(t *testing.T) {
	line, wantHash := docBlock(t, "canonical-example"), docBlock(t, "canonical-example-hash")
	var v any
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	if h := hex.EncodeToString(sum[:]); h != wantHash {
		t.Errorf("encoding/json gives %s, documented %s", h, wantHash)
	}
}

// TestDocPythonScript runs the documented Python script, an independent
// RFC 8785 serialiser, on the worked example and on a document full of the
// hard cases (numbers at both ends of the plain range, control characters,
// U+2028, names beyond the BMP), and expects this package's hashes.
func TestDocPythonScript(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	script := docBlock(t, "canonical-script")
	run := func(input []byte) string {
		t.Helper()
		cmd := exec.Command(python, "-c", script)
		cmd.Stdin = bytes.NewReader(input)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python3: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	if got, want := run([]byte(docBlock(t, "canonical-example"))), docBlock(t, "canonical-example-hash"); got != want {
		t.Errorf("worked example: python %s, documented %s", got, want)
	}

	rng := rand.New(rand.NewPCG(8785, 1))
	numbers := []any{0.0, math.Copysign(0, -1), 1e-7, 1e-6, 0.00001, 1e21, 1e20, 1e30, 1e-27, 4.5, 0.002,
		333333333.3333333, 66.66666666666667, 100.0, -12.5, float64(1 << 60), 5e-324, math.MaxFloat64}
	for range 300 {
		numbers = append(numbers, math.Float64frombits(rng.Uint64()&^(0x7ff<<52)|uint64(rng.IntN(2046)+1)<<52))
		numbers = append(numbers, float64(rng.IntN(10001))/100)
	}
	for i, x := range numbers {
		if f := x.(float64); math.IsNaN(f) || math.IsInf(f, 0) {
			numbers[i] = 1.0
		}
	}
	doc := object{
		{"numbers", numbers},
		{"text", "quote \" backslash \\ tab \t newline \n cr \r bell \a nul \x00 del \x7f sep \u2028 para \u2029 é § 😀 <&>"},
		{"\U0001F600", true}, {"\uE000", false}, {"a", nil}, {"B", []any{}}, {"", object{}},
	}
	var e encoder
	e.value(doc)
	if e.err != nil {
		t.Fatal(e.err)
	}
	sum := sha256.Sum256(e.buf.Bytes())
	if got, want := run(e.buf.Bytes()), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("hard cases: python %s, this package %s, for %s", got, want, e.buf.Bytes())
	}
}
