package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// maxSuggestions keeps a did-you-mean to one readable line.
const maxSuggestions = 3

// suggest returns the candidates an operator who typed input most likely
// meant, best first: a small edit distance (a typo: "aproved", "lock_dor"),
// or a candidate that starts with or contains what was typed ("mercedes",
// "benz"). Case is ignored.
func suggest(input string, candidates []string) []string {
	in := strings.ToLower(strings.TrimSpace(input))
	if in == "" {
		return nil
	}
	// A third of the word may be wrong, and always two characters.
	limit := max(2, len(in)/3)
	type scored struct {
		name string
		d    int
	}
	var found []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if lc == in {
			continue
		}
		d := levenshtein.ComputeDistance(in, lc)
		switch {
		case d <= limit:
		case len(in) >= 3 && strings.Contains(lc, in):
			d = limit + 1 // after the typos: "benz" is further from mercedes-benz than "mercedez-benz"
		default:
			continue
		}
		found = append(found, scored{c, d})
	}
	slices.SortStableFunc(found, func(a, b scored) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, 0, min(len(found), maxSuggestions))
	for _, s := range found[:min(len(found), maxSuggestions)] {
		out = append(out, s.name)
	}
	return out
}

// didYouMean is `; did you mean "a" or "b"?` for the suggestions, or "".
func didYouMean(suggestions []string) string {
	if len(suggestions) == 0 {
		return ""
	}
	q := make([]string, len(suggestions))
	for i, s := range suggestions {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "; did you mean " + strings.Join(q, " or ") + "?"
}

// unknownValue is the usage error for a flag or argument given a value that
// is not one of valid: it names the value, suggests the nearest, and lists
// every valid one, on one line. what is "--status" or "COMMAND".
func unknownValue(cmd *cobra.Command, what, value string, valid []string) error {
	return usageError("%s: unknown %s %q%s (valid: %s)", cmdName(cmd), what, termsafe.String(value),
		didYouMean(suggest(value, valid)), strings.Join(valid, ", "))
}

// unknownCommand is the usage error for a subcommand that does not exist,
// with cobra's suggestions (edit distance, prefixes, SuggestFor).
func unknownCommand(cmd *cobra.Command, name string) error {
	return usageError("unknown command %q for %q%s (see %s --help)", termsafe.String(name), cmd.CommandPath(),
		didYouMean(cmd.SuggestionsFor(name)), cmd.CommandPath())
}
