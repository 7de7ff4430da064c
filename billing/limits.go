package billing

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// LimitPrefix is the prefix ISPmanager puts on limit parameters
// ("limit_db"). [Limits] stores names without it.
const LimitPrefix = "limit_"

// Known ISPmanager limit names (without [LimitPrefix]). Counts are decimal
// integers; toggles are "on" or "off".
const (
	LimitQuota            = "quota"              // disk quota, MiB
	LimitTraffic          = "traff"              // traffic
	LimitDB               = "db"                 // databases
	LimitDBSize           = "dbsize"             // database size
	LimitDBUsers          = "db_users"           // database users
	LimitFTPUsers         = "ftp_users"          // FTP users
	LimitWebDomains       = "webdomains"         // WWW domains
	LimitDomains          = "domains"            // DNS domains
	LimitEmailDomains     = "emaildomains"       // mail domains
	LimitEmails           = "emails"             // mailboxes
	LimitEmailQuota       = "email_quota"        // mailbox quota
	LimitCPU              = "cpu"                // CPU
	LimitMemory           = "memory"             // memory
	LimitProcess          = "process"            // processes
	LimitMailRate         = "mailrate"           // mail sending rate
	LimitScheduler        = "scheduler"          // cron jobs
	LimitUsers            = "users"              // users (resellers)
	LimitShell            = "shell"              // toggle: shell access
	LimitSSL              = "ssl"                // toggle: SSL
	LimitCGI              = "cgi"                // toggle: CGI
	LimitWebDomainsEnable = "webdomains_enabled" // toggle: WWW domains allowed
)

// Limits holds ISPmanager resource limits as name → value strings, the way
// ISPmanager's limit_* parameters carry them. Names are stored without the
// "limit_" prefix; every method accepts a name with or without it (so "db"
// and "limit_db" are the same limit). A valid name is non-empty and made of
// lower-case ASCII letters, digits and underscores.
//
// A name that is present is "set", even with an empty value: ispkit passes
// the value through unchanged and does not interpret it. The zero value is an
// empty, ready-to-use Limits. Limits is not safe for concurrent mutation;
// copy it with [Limits.Clone].
type Limits struct {
	m map[string]string
}

// LimitsFrom builds Limits from a map whose keys may carry the "limit_"
// prefix. Two keys naming the same limit ("db" and "limit_db") or an invalid
// name yield a *LimitError.
func LimitsFrom(kv map[string]string) (Limits, error) {
	var l Limits
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		name := normLimitName(k)
		if l.Has(name) {
			return Limits{}, &LimitError{Name: name, Reason: "given twice (with and without the limit_ prefix)"}
		}
		if err := l.Set(k, kv[k]); err != nil {
			return Limits{}, err
		}
	}
	return l, nil
}

func normLimitName(name string) string {
	return strings.TrimPrefix(name, LimitPrefix)
}

func checkLimitName(name string) error {
	if name == "" {
		return &LimitError{Name: name, Reason: "empty name"}
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return &LimitError{Name: name, Reason: "name may only contain a-z, 0-9 and _"}
		}
	}
	return nil
}

// Set sets limit name to value. It fails with a *LimitError for an invalid
// name.
func (l *Limits) Set(name, value string) error {
	name = normLimitName(name)
	if err := checkLimitName(name); err != nil {
		return err
	}
	if l.m == nil {
		l.m = make(map[string]string)
	}
	l.m[name] = value
	return nil
}

// SetInt sets a count limit.
func (l *Limits) SetInt(name string, v int64) error {
	return l.Set(name, strconv.FormatInt(v, 10))
}

// SetBool sets a toggle limit to "on" or "off".
func (l *Limits) SetBool(name string, on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	return l.Set(name, v)
}

// Delete unsets limit name.
func (l *Limits) Delete(name string) {
	delete(l.m, normLimitName(name))
}

// Get returns the value of limit name and whether it is set.
func (l Limits) Get(name string) (string, bool) {
	v, ok := l.m[normLimitName(name)]
	return v, ok
}

// Has reports whether limit name is set.
func (l Limits) Has(name string) bool {
	_, ok := l.Get(name)
	return ok
}

// Int returns a count limit. It fails with [ErrLimitUnset] when the limit is
// not set and with a *LimitError when the value is not a decimal integer.
func (l Limits) Int(name string) (int64, error) {
	v, ok := l.Get(name)
	if !ok {
		return 0, ErrLimitUnset
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, &LimitError{Name: normLimitName(name), Value: v, Reason: "not an integer"}
	}
	return n, nil
}

// Bool returns a toggle limit: "on" is true and "off" is false. It fails with
// [ErrLimitUnset] when the limit is not set and with a *LimitError for any
// other value.
func (l Limits) Bool(name string) (bool, error) {
	v, ok := l.Get(name)
	if !ok {
		return false, ErrLimitUnset
	}
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, &LimitError{Name: normLimitName(name), Value: v, Reason: `want "on" or "off"`}
}

// QuotaMiB returns the disk quota in MiB ([LimitQuota]).
func (l Limits) QuotaMiB() (int64, error) { return l.Int(LimitQuota) }

// Databases returns the number of databases ([LimitDB]).
func (l Limits) Databases() (int64, error) { return l.Int(LimitDB) }

// Domains returns the number of DNS domains ([LimitDomains]).
func (l Limits) Domains() (int64, error) { return l.Int(LimitDomains) }

// WebDomains returns the number of WWW domains ([LimitWebDomains]).
func (l Limits) WebDomains() (int64, error) { return l.Int(LimitWebDomains) }

// EmailDomains returns the number of mail domains ([LimitEmailDomains]).
func (l Limits) EmailDomains() (int64, error) { return l.Int(LimitEmailDomains) }

// Emails returns the number of mailboxes ([LimitEmails]).
func (l Limits) Emails() (int64, error) { return l.Int(LimitEmails) }

// FTPUsers returns the number of FTP users ([LimitFTPUsers]).
func (l Limits) FTPUsers() (int64, error) { return l.Int(LimitFTPUsers) }

// CPU returns the CPU limit ([LimitCPU]).
func (l Limits) CPU() (int64, error) { return l.Int(LimitCPU) }

// Memory returns the memory limit ([LimitMemory]).
func (l Limits) Memory() (int64, error) { return l.Int(LimitMemory) }

// Processes returns the process limit ([LimitProcess]).
func (l Limits) Processes() (int64, error) { return l.Int(LimitProcess) }

// Len returns the number of set limits.
func (l Limits) Len() int { return len(l.m) }

// Names returns the names of the set limits (without prefix), sorted.
func (l Limits) Names() []string {
	return slices.Sorted(maps.Keys(l.m))
}

// Clone returns an independent copy of l.
func (l Limits) Clone() Limits {
	if l.m == nil {
		return Limits{}
	}
	return Limits{m: maps.Clone(l.m)}
}

// Map returns a copy of the limits keyed by name without prefix. It never
// returns nil.
func (l Limits) Map() map[string]string {
	out := make(map[string]string, len(l.m))
	maps.Copy(out, l.m)
	return out
}

// Params returns a copy of the limits keyed by their ISPmanager parameter
// name ("limit_db"), ready to send with user.add.finish or user.edit. It
// never returns nil.
func (l Limits) Params() map[string]string {
	out := make(map[string]string, len(l.m))
	for k, v := range l.m {
		out[LimitPrefix+k] = v
	}
	return out
}

// Equal reports whether l and o hold the same names and values.
func (l Limits) Equal(o Limits) bool {
	return maps.Equal(l.m, o.m)
}

// MergeLimits returns the limits an ISPmanager account gets when it is
// created from an account template (preset) and a tariff: every limit the
// tariff (billing) sets wins; the limits the tariff leaves unset come from the
// template. Neither argument is modified.
//
// Vendor example: template 25 databases and 25 domains, tariff 10 databases
// and nothing about domains → 10 databases and 25 domains.
func MergeLimits(template, tariff Limits) Limits {
	out := template.Clone()
	for k, v := range tariff.m {
		if out.m == nil {
			out.m = make(map[string]string, len(tariff.m))
		}
		out.m[k] = v
	}
	return out
}
