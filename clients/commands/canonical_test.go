package commands_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/fleetdeck/fleetdeck/clients/commands"
)

type vector struct {
	Secret        string `json:"secret"`
	VIN           string `json:"vin"`
	Command       string `json:"command"`
	CanonicalBody string `json:"canonical_body"`
	Signature     string `json:"signature"`
}

// vectorsPath holds the Python-made vectors, kept in the repository (see
// testdata/README.md). A missing file fails the test: the signer is
// unverified without them.
const vectorsPath = "testdata/command_signature_vectors.json"

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("signature vectors: %v", err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", vectorsPath, err)
	}
	if len(f.Vectors) < 10 {
		t.Fatalf("%s: only %d vectors", vectorsPath, len(f.Vectors))
	}
	return f.Vectors
}

func TestCanonicalAndSignatureMatchPythonVectors(t *testing.T) {
	for i, v := range loadVectors(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := string(commands.Canonical(v.VIN, v.Command)); got != v.CanonicalBody {
				t.Errorf("Canonical(%q, %q)\n got %s\nwant %s", v.VIN, v.Command, got, v.CanonicalBody)
			}
			// The secret is test data from the vectors file, not a credential,
			// but it still stays out of the output.
			if got := commands.NewSigner(v.Secret).Sign(v.VIN, v.Command); got != v.Signature {
				t.Errorf("Sign(vector %d) = %s, want %s", i, got, v.Signature)
			}
		})
	}
}

func TestCanonicalEdgeCases(t *testing.T) {
	// Expected outputs checked against Python 3.11's json.dumps.
	cases := []struct{ vin, cmd, want string }{
		{"V", "\x7f", `{"command":"\u007f","vin":"V"}`},
		{"V", "\x00\x1f\b\f\r", `{"command":"\u0000\u001f\b\f\r","vin":"V"}`},
		{"V", "</script>&amp;", `{"command":"</script>&amp;","vin":"V"}`},
		{"V", "\u00a0\ufeff\uffff", `{"command":"\u00a0\ufeff\uffff","vin":"V"}`},
		{"V", "\U0010ffff", `{"command":"\udbff\udfff","vin":"V"}`},
		{"é", "~", `{"command":"~","vin":"\u00e9"}`},
		// Invalid UTF-8 (which Python cannot hold): one U+FFFD per bad byte.
		{"V", "a\xffb\xed\xa0\x80", `{"command":"a\ufffdb\ufffd\ufffd\ufffd","vin":"V"}`},
	}
	for _, c := range cases {
		if got := string(commands.Canonical(c.vin, c.cmd)); got != c.want {
			t.Errorf("Canonical(%q, %q) = %s, want %s", c.vin, c.cmd, got, c.want)
		}
	}
}

func TestSignerDoesNotPrintSecret(t *testing.T) {
	const secret = "do-not-print-this-sign-secret"
	s := commands.NewSigner(secret)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprintf("%v", *s)} {
		if bytes.Contains([]byte(out), []byte(secret)) {
			t.Fatal("signer formatting shows the secret")
		}
	}
}

func FuzzCanonical(f *testing.F) {
	f.Add("6AHFT68CKAF501652", "diagnostics")
	f.Add("", "")
	f.Add("1HMSJBPPO6X2VVVP5", "a<b>&c")
	f.Add("x", "🚗 \u2028\"\\/\t\x7f\x01")
	f.Add("\xff\xfe", "\xed\xa0\x80")
	f.Fuzz(func(t *testing.T, vin, command string) {
		out := commands.Canonical(vin, command)
		for _, c := range out {
			if c >= utf8.RuneSelf || c < 0x20 || c == 0x7f {
				t.Fatalf("byte %#x in output %q: want printable ASCII only", c, out)
			}
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %q", out)
		}
		if !bytes.HasPrefix(out, []byte(`{"command":"`)) {
			t.Fatalf("keys not sorted: %q", out)
		}
		var m map[string]string
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		if len(m) != 2 {
			t.Fatalf("want 2 keys, got %v", m)
		}
		// A Go string converted to runes turns each invalid byte into U+FFFD,
		// which is what Canonical promises; for valid UTF-8 it is the input.
		wantVIN, wantCmd := string([]rune(vin)), string([]rune(command))
		if m["vin"] != wantVIN || m["command"] != wantCmd {
			t.Fatalf("round trip: got vin=%q command=%q, want %q %q", m["vin"], m["command"], wantVIN, wantCmd)
		}
		if utf8.ValidString(vin) && utf8.ValidString(command) && (m["vin"] != vin || m["command"] != command) {
			t.Fatal("valid UTF-8 did not round-trip exactly")
		}
	})
}
