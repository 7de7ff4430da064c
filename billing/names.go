package billing

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxUsernameLen is the length BILLmanager cuts generated panel usernames
// to.
const MaxUsernameLen = 16

// MaxNameAttempts is the number of candidates [UniqueName] checks before it
// gives up: the base name and the suffixes 1 to MaxNameAttempts-1.
const MaxNameAttempts = 100

// SanitizeUsername derives a panel username from the account owner's name
// the way BILLmanager's DCImanager module does: every character that is not
// an ASCII letter or digit is removed and the result is cut to
// [MaxUsernameLen] characters. Case is kept (the vendor text only mentions
// removing special characters); lower-case the result if the panel needs it.
// The result is empty when s has no ASCII letter or digit.
func SanitizeUsername(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < MaxUsernameLen; i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Macros understood by [ExpandTemplate].
const (
	MacroUsername  = "@USERNAME@"   // username of the ordering account
	MacroDomain    = "@DOMAIN@"     // domain of the service
	MacroID        = "@ID@"         // service ID
	MacroAccountID = "@ACCOUNT_ID@" // ID of the account owning the service
	MacroType      = "@TYPE@"       // product type / item type name
)

// MacroVars are the values substituted by [ExpandTemplate]. An empty string
// or a zero ID counts as "no value".
type MacroVars struct {
	// Username replaces @USERNAME@.
	Username string
	// Domain replaces @DOMAIN@.
	Domain string
	// ID replaces @ID@ (service ID).
	ID int64
	// AccountID replaces @ACCOUNT_ID@.
	AccountID int64
	// Type replaces @TYPE@.
	Type string
}

func (v MacroVars) lookup(name string) (value string, known bool) {
	switch name {
	case "USERNAME":
		return v.Username, true
	case "DOMAIN":
		return v.Domain, true
	case "ID":
		if v.ID == 0 {
			return "", true
		}
		return strconv.FormatInt(v.ID, 10), true
	case "ACCOUNT_ID":
		if v.AccountID == 0 {
			return "", true
		}
		return strconv.FormatInt(v.AccountID, 10), true
	case "TYPE":
		return v.Type, true
	}
	return "", false
}

// isMacroName reports whether s looks like a macro name: an upper-case ASCII
// letter followed by upper-case letters, digits and underscores.
func isMacroName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// expand walks tmpl; with vars == nil it only checks macro names.
func expand(tmpl string, vars *MacroVars) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c != '@' {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(tmpl[i+1:], '@')
		if j < 0 || !isMacroName(tmpl[i+1:i+1+j]) {
			// A lone '@' (e-mail address, "@@") is literal text.
			b.WriteByte('@')
			i++
			continue
		}
		name := tmpl[i+1 : i+1+j]
		macro := "@" + name + "@"
		var zero MacroVars
		v := &zero
		if vars != nil {
			v = vars
		}
		value, known := v.lookup(name)
		if !known {
			return "", &MacroError{Macro: macro, Offset: i, Err: ErrUnknownMacro}
		}
		if vars != nil && value == "" {
			return "", &MacroError{Macro: macro, Offset: i, Err: ErrEmptyMacro}
		}
		b.WriteString(value)
		i += len(macro)
	}
	return b.String(), nil
}

func checkTemplate(tmpl string) error {
	_, err := expand(tmpl, nil)
	return err
}

// ExpandTemplate replaces the macros @USERNAME@, @DOMAIN@, @ID@,
// @ACCOUNT_ID@ and @TYPE@ in tmpl with the values from vars; for example
// "user@ID@" with ID 117 gives "user117".
//
// A macro is an '@', an upper-case ASCII letter followed by upper-case
// letters, digits or underscores, and a closing '@'. Any other '@' is
// literal text, so "admin@example.com" expands to itself. An unknown macro
// yields a *MacroError wrapping [ErrUnknownMacro]; a known macro whose value is
// empty (or a zero ID) yields one wrapping [ErrEmptyMacro]. The result is not
// sanitised or shortened: apply [SanitizeUsername] or [Candidates] as the
// target panel needs.
func ExpandTemplate(tmpl string, vars MacroVars) (string, error) {
	return expand(tmpl, &vars)
}

// truncRunes returns the first n runes of s.
func truncRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// NextCandidate returns the n-th name candidate derived from base: n == 0 is
// base itself, n ≥ 1 is base with the decimal n appended ("user_665",
// "user_6651", "user_6652", …, as BILLmanager retries after an "exists"
// error). With maxLen > 0 the result is at most maxLen characters (runes):
// the base is trimmed from the end to make room and the suffix is kept whole.
// It returns "" when n is negative, base is empty, or the suffix leaves no room
// for at least one character of base.
func NextCandidate(base string, n, maxLen int) string {
	if base == "" || n < 0 {
		return ""
	}
	suffix := ""
	if n > 0 {
		suffix = strconv.Itoa(n)
	}
	if maxLen > 0 {
		room := maxLen - len(suffix)
		if room < 1 {
			return ""
		}
		if utf8.RuneCountInString(base) > room {
			base = truncRunes(base, room)
		}
	}
	return base + suffix
}

// Candidates yields [NextCandidate](base, n, maxLen) for n = 0, 1, 2, …
// until the suffix no longer fits in maxLen (with maxLen ≤ 0 the sequence is
// unbounded; stop ranging when done). It yields nothing for an empty base.
func Candidates(base string, maxLen int) iter.Seq[string] {
	return func(yield func(string) bool) {
		for n := 0; n >= 0; n++ {
			c := NextCandidate(base, n, maxLen)
			if c == "" || !yield(c) {
				return
			}
		}
	}
}

// UniqueName returns the first of [Candidates](base, maxLen) for which taken
// reports false, checking at most [MaxNameAttempts] candidates.
//
// An error from taken is returned wrapped (use [errors.Is]/[errors.As]); a
// cancelled ctx is checked before each call and returned wrapped. When no
// candidate is free it fails with an *ExhaustedError wrapping
// [ErrNamesExhausted]. An empty base or a nil taken is a *ArgumentError.
func UniqueName(ctx context.Context, base string, maxLen int, taken func(ctx context.Context, name string) (bool, error)) (string, error) {
	if base == "" {
		return "", invalid("base", "empty name")
	}
	if taken == nil {
		return "", invalid("taken", "nil function")
	}
	attempts := 0
	for name := range Candidates(base, maxLen) {
		if attempts == MaxNameAttempts {
			break
		}
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("billing: unique name for %q: %w", base, err)
		}
		attempts++
		used, err := taken(ctx, name)
		if err != nil {
			return "", fmt.Errorf("billing: checking name %q: %w", name, err)
		}
		if !used {
			return name, nil
		}
	}
	return "", &ExhaustedError{Base: base, Attempts: attempts}
}
