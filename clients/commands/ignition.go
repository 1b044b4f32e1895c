package commands

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// CodeTTL is how long a confirmation code can be redeemed: two minutes from
// the first step that issued it. Document 002 does not give the figure;
// mobway's platform expires codes so (issue 12), and the sandbox does the
// same. The console counts it down; a code typed after it is not sent.
const CodeTTL = 2 * time.Minute

// englishSentences are the platform's alert sentences we have seen, in
// English. Keys are normalized (see normSentence). A message is translated
// only when every one of its sentences is here: a half-translated warning
// would read as the whole of it.
var englishSentences = map[string]string{
	"atenção: o comando de desligar a ignição será enviado ao veículo":    "Warning: the command to switch the ignition off will be sent to the vehicle.",
	"confirme apenas se o veículo estiver parado em local seguro":         "Confirm only if the vehicle is stopped in a safe place.",
	"atenção: o comando de ligar a ignição será enviado ao veículo":       "Warning: the command to switch the ignition on will be sent to the vehicle.",
	"confirme apenas se o veículo puder voltar a funcionar com segurança": "Confirm only if the vehicle can safely run again.",
}

// EnglishMessage translates the platform's Portuguese alert (a
// Confirmation's Message) when every sentence of it is one we know, and
// reports whether it could. Unknown messages are not guessed at: the
// caller shows the Portuguese and says it is the platform's own words.
func EnglishMessage(pt string) (string, bool) {
	sentences := splitSentences(pt)
	if len(sentences) == 0 {
		return "", false
	}
	out := make([]string, 0, len(sentences))
	for _, s := range sentences {
		en, ok := englishSentences[normSentence(s)]
		if !ok {
			return "", false
		}
		out = append(out, en)
	}
	return strings.Join(out, " "), true
}

// splitSentences cuts text after each '.', '!' or '?' that ends a word.
func splitSentences(text string) []string {
	var out []string
	rs := []rune(strings.TrimSpace(text))
	start := 0
	for i, r := range rs {
		if r != '.' && r != '!' && r != '?' {
			continue
		}
		if i+1 < len(rs) && !unicode.IsSpace(rs[i+1]) {
			continue // 12.5, or an abbreviation glued to the next word
		}
		if s := strings.TrimSpace(string(rs[start : i+1])); s != "" {
			out = append(out, s)
		}
		start = i + 1
	}
	if s := strings.TrimSpace(string(rs[start:])); s != "" {
		out = append(out, s)
	}
	return out
}

// normSentence folds case and spacing and drops the final punctuation.
func normSentence(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	return strings.TrimRight(s, ".!? ")
}

// CodeProblem says why a confirmation code was not taken.
type CodeProblem uint8

// The ways a code fails. The platform answers only "Confirmation invalid"
// or "Confirmation already used" (document 002); which of these it was is
// worked out from what this process saw issued (CodeBook).
const (
	CodeWrong      CodeProblem = iota + 1 // not the code issued for this vehicle and command
	CodeExpired                           // issued more than CodeTTL ago
	CodeUsed                              // already redeemed once
	CodeForOther                          // issued for another vehicle (or the other ignition command)
	CodeSuperseded                        // a newer first step replaced it
	CodeRefused                           // refused, and nothing here says which of the above
)

// CodeRejection is a refused code explained: what happened, in a line an
// operator reads.
type CodeRejection struct {
	Problem CodeProblem
	What    string
}

// IssuedCode is a code the platform handed out for VIN and Command. Code is
// "" when only the time is known (the CLI reads issue times from the
// journal, which never holds codes).
type IssuedCode struct {
	VIN, Command, Code string
	At                 time.Time
}

// codeMemory bounds a CodeBook: codes from the last hour, at most this
// many.
const (
	codeMemory    = time.Hour
	maxCodeMemory = 256
)

// CodeBook remembers the codes this process was issued (in memory only:
// codes never go to disk), so that a refused code can be explained: wrong,
// expired, used, or another vehicle's. One book may serve every console of
// an ops box. It is safe for concurrent use; the zero value is ready.
type CodeBook struct {
	mu     sync.Mutex
	issued []IssuedCode // oldest first
}

// Issued records a code the platform handed out.
func (b *CodeBook) Issued(c IssuedCode) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.issued = keepRecent(append(b.issued, c), c.At)
}

func keepRecent(cs []IssuedCode, now time.Time) []IssuedCode {
	i := 0
	for i < len(cs) && (now.Sub(cs[i].At) > codeMemory || len(cs)-i > maxCodeMemory) {
		i++
	}
	return cs[i:]
}

// Latest is the newest code issued for vin and command.
func (b *CodeBook) Latest(vin, command string) (IssuedCode, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.issued) - 1; i >= 0; i-- {
		if c := b.issued[i]; c.VIN == vin && c.Command == command {
			return c, true
		}
	}
	return IssuedCode{}, false
}

// Expired reports whether c can no longer be redeemed at now.
func (c IssuedCode) Expired(now time.Time) bool { return !now.Before(c.At.Add(CodeTTL)) }

// Explain says why typed, sent for vin and command, was refused with err (a
// RestartsFlow error; nil when the code was not sent because it had
// already expired here).
func (b *CodeBook) Explain(vin, command, typed string, err error, now time.Time) CodeRejection {
	b.mu.Lock()
	defer b.mu.Unlock()
	if errors.Is(err, ErrConfirmationUsed) {
		return CodeRejection{CodeUsed, "that code was already used: each code works once"}
	}
	mine := func(c IssuedCode) bool { return c.VIN == vin && c.Command == command }
	var latest *IssuedCode
	for i := len(b.issued) - 1; i >= 0; i-- {
		if mine(b.issued[i]) {
			latest = &b.issued[i]
			break
		}
	}
	if latest == nil || (latest.Code != "" && latest.Code != typed) {
		// Another vehicle's code (or the other ignition command's), still
		// valid: the likeliest slip with two flows on screen.
		for i := len(b.issued) - 1; i >= 0; i-- {
			c := b.issued[i]
			if mine(c) || c.Expired(now) {
				continue
			}
			switch {
			case c.Code == typed && c.VIN == vin:
				return CodeRejection{CodeForOther, fmt.Sprintf("that code was issued for %s on this vehicle, not for %s",
					termsafe.String(c.Command), termsafe.String(command))}
			case c.Code == typed:
				return CodeRejection{CodeForOther, fmt.Sprintf("that code was issued for %s (%s), not for this vehicle",
					termsafe.String(c.VIN), termsafe.String(c.Command))}
			case c.Code == "" && latest == nil:
				// Only times are known (the CLI): say what they suggest.
				return CodeRejection{CodeForOther, fmt.Sprintf("no code was issued for %s on this vehicle lately, but one was for %s (%s) %s ago: was it that vehicle's code?",
					termsafe.String(command), termsafe.String(c.VIN), termsafe.String(c.Command), shortDur(now.Sub(c.At)))}
			}
		}
	}
	switch {
	case latest == nil:
		return CodeRejection{CodeRefused, "the platform refused the code (Confirmation invalid): it is wrong, expired, or another vehicle's"}
	case latest.Expired(now) && (latest.Code == "" || latest.Code == typed):
		return CodeRejection{CodeExpired, fmt.Sprintf("the code expired: codes are valid %s and this one was issued %s ago",
			shortDur(CodeTTL), shortDur(now.Sub(latest.At)))}
	case latest.Code == "":
		// Only the time is known (the CLI): the code issued then is still
		// valid, so this one is not it, or it was replaced since.
		return CodeRejection{CodeWrong, fmt.Sprintf("that is not the code issued for this vehicle %s ago (still valid for %s), or a newer one replaced it",
			shortDur(now.Sub(latest.At)), shortDur(latest.At.Add(CodeTTL).Sub(now)))}
	case latest.Code == typed:
		return CodeRejection{CodeSuperseded, "the platform no longer takes this code: a newer one was requested for this vehicle (from another console or the CLI), too many wrong codes were tried, or it expired sooner than the console counted"}
	}
	for i := len(b.issued) - 1; i >= 0; i-- {
		if c := b.issued[i]; mine(c) && c.Code == typed {
			if c.Expired(now) {
				return CodeRejection{CodeExpired, fmt.Sprintf("that code expired: it was issued %s ago, and codes are valid %s",
					shortDur(now.Sub(c.At)), shortDur(CodeTTL))}
			}
			return CodeRejection{CodeSuperseded, "that was an earlier code for this vehicle: only the newest one works"}
		}
	}
	return CodeRejection{CodeWrong, "that is not the code the platform issued for this vehicle"}
}

// shortDur renders d as "2m", "2m14s" or "45s".
func shortDur(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}
