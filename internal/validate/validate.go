// Package validate holds the input rules the panel clients share, so that
// a name, a domain or a password a customer typed is refused with a typed
// error before anything reaches a panel: no control characters or NUL
// bytes (they end or split a form value), bounded lengths (a 100,000-
// character name is not a name), and for names only the characters the
// panels' login names are made of.
package validate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits shared by the clients.
const (
	// MaxPassword bounds a password: far above what any panel form takes,
	// far below a denial of service.
	MaxPassword = 256
	// MaxText bounds free text: notes, full names, comments.
	MaxText = 1024
	// MaxDomain is the longest DNS name.
	MaxDomain = 253
)

// Login checks a panel login name of at most max bytes: a letter or digit
// first, then letters, digits, '_', '-', '.' and '@' (e-mail-shaped logins
// occur). It returns "" or what is wrong.
func Login(s string, max int) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > max:
		return "too long"
	}
	for i, r := range s {
		alnum := r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
		if i == 0 && !alnum {
			return "must start with a letter or a digit"
		}
		if !alnum && r != '_' && r != '-' && r != '.' && r != '@' {
			return "only letters, digits, '_', '-', '.' and '@' are allowed"
		}
	}
	return ""
}

// Password checks a password: not empty, at most MaxPassword bytes, valid
// UTF-8 without control characters.
func Password(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxPassword:
		return "longer than 256 bytes"
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "contains a control character"
	}
	return ""
}

// Text checks free text of at most max bytes: valid UTF-8 without control
// characters. Empty is fine.
func Text(s string, max int) string {
	switch {
	case len(s) > max:
		return "too long"
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "contains a control character"
	}
	return ""
}

// Domain checks a DNS name (a trailing dot allowed): labels of ASCII
// letters, digits and inner hyphens, 1 to 63 bytes each, at most 253 in
// all; IDNs go in punycode. It returns "" or what is wrong.
func Domain(s string) string {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > MaxDomain {
		return "empty or longer than 253 characters"
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "has an empty, too long or hyphen-edged label"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "only letters, digits and inner hyphens are allowed (IDNs in punycode)"
			}
		}
	}
	return ""
}

// Email checks an e-mail address loosely: a local part of printable
// characters without spaces, commas or quotes, '@', and a domain.
func Email(s string) string {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(s) > 254 {
		return "not an e-mail address"
	}
	if strings.IndexFunc(local, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == ',' || r == '"' || r == '@' || r == '/' || r == '?' || r == '#'
	}) >= 0 {
		return "not an e-mail address"
	}
	if Domain(domain) != "" || !strings.Contains(domain, ".") {
		return "not an e-mail address"
	}
	return ""
}
