package ispmanager

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// LimitPrefix is the prefix ISPmanager puts on limit parameters and form
// fields ("limit_db"). Names in [Limits.Extra] and in the maps of
// [ParseLimits] and [Limits.Values] are stored without it.
const LimitPrefix = "limit_"

// Unlimited is the value of a numeric limit that has no upper bound. On the
// wire it is an empty limit_* value ((inferred): the panels show an empty limit
// field as "unlimited"; a preset the panel creates on its own leaves every
// limit empty).
const Unlimited = -1

// Limits are the resource limits of an ISPmanager user or preset (the
// limit_* fields of user.add.finish, user.edit and preset.edit).
//
// A nil field is "not set": the panel keeps its current value or takes it
// from the preset. A field set to [Unlimited] removes the bound. Known
// numeric limits are typed; toggles are *bool ("on"/"off"); any other
// limit_* value travels unchanged in Extra, keyed by name without the
// "limit_" prefix. Counts are whole numbers; sizes are in MiB where the
// panel documents it (quota), otherwise in the panel's own unit.
type Limits struct {
	QuotaMiB     *int // limit_quota: disk quota, MiB
	Traffic      *int // limit_traff: traffic, panel unit
	Databases    *int // limit_db: databases
	DBSizeMiB    *int // limit_dbsize: size of all databases, MiB
	DBUsers      *int // limit_db_users: database users
	FTPUsers     *int // limit_ftp_users: FTP users
	WebDomains   *int // limit_webdomains: WWW domains
	Domains      *int // limit_domains: DNS domains
	EmailDomains *int // limit_emaildomains: mail domains
	Emails       *int // limit_emails: mailboxes
	EmailQuota   *int // limit_email_quota: mailbox quota, panel unit
	CPU          *int // limit_cpu: CPU, panel unit
	MemoryMiB    *int // limit_memory: memory, MiB
	Processes    *int // limit_process: processes
	MailRate     *int // limit_mailrate: mails per hour
	Scheduler    *int // limit_scheduler: cron jobs

	Shell *bool // limit_shell: shell access
	SSL   *bool // limit_ssl: SSL certificates
	CGI   *bool // limit_cgi: CGI scripts

	// Extra holds every other limit by name without the prefix
	// ("php_mode" for limit_php_mode), with the panel's value.
	Extra map[string]string
}

// Int returns a pointer to v, for the fields of [Limits].
func Int(v int) *int { return &v }

// Bool returns a pointer to v, for the toggles of [Limits].
func Bool(v bool) *bool { return &v }

type intField struct {
	name string
	ptr  func(*Limits) **int
}

type boolField struct {
	name string
	ptr  func(*Limits) **bool
}

// intFields and boolFields are the one table every conversion uses.
var intFields = []intField{
	{"quota", func(l *Limits) **int { return &l.QuotaMiB }},
	{"traff", func(l *Limits) **int { return &l.Traffic }},
	{"db", func(l *Limits) **int { return &l.Databases }},
	{"dbsize", func(l *Limits) **int { return &l.DBSizeMiB }},
	{"db_users", func(l *Limits) **int { return &l.DBUsers }},
	{"ftp_users", func(l *Limits) **int { return &l.FTPUsers }},
	{"webdomains", func(l *Limits) **int { return &l.WebDomains }},
	{"domains", func(l *Limits) **int { return &l.Domains }},
	{"emaildomains", func(l *Limits) **int { return &l.EmailDomains }},
	{"emails", func(l *Limits) **int { return &l.Emails }},
	{"email_quota", func(l *Limits) **int { return &l.EmailQuota }},
	{"cpu", func(l *Limits) **int { return &l.CPU }},
	{"memory", func(l *Limits) **int { return &l.MemoryMiB }},
	{"process", func(l *Limits) **int { return &l.Processes }},
	{"mailrate", func(l *Limits) **int { return &l.MailRate }},
	{"scheduler", func(l *Limits) **int { return &l.Scheduler }},
}

var boolFields = []boolField{
	{"shell", func(l *Limits) **bool { return &l.Shell }},
	{"ssl", func(l *Limits) **bool { return &l.SSL }},
	{"cgi", func(l *Limits) **bool { return &l.CGI }},
}

// IsNumericLimit reports whether name (with or without the "limit_"
// prefix) is one of the typed numeric limits, such as "db" or "quota".
func IsNumericLimit(name string) bool {
	name = strings.TrimPrefix(name, LimitPrefix)
	for _, f := range intFields {
		if f.name == name {
			return true
		}
	}
	return false
}

func isTypedLimit(name string) bool {
	if IsNumericLimit(name) {
		return true
	}
	for _, f := range boolFields {
		if f.name == name {
			return true
		}
	}
	return false
}

// MergeLimits applies the precedence rule of BILLmanager and ISPmanager: a
// value set by billing (the tariff) wins; a value the tariff leaves unset
// comes from the template (preset). The result is a new value sharing no
// memory with its arguments. The rule is documented in BILLmanager's
// "Tariff plan ISPmanager" page: a template with 25 databases and 25
// domains and a tariff with 10 databases give an account with 10 databases
// and 25 domains.
//
// billing.MergeLimits applies the same rule to billing's untyped limits;
// this package does not import billing, so that it stays a leaf.
func MergeLimits(template, tariff Limits) Limits {
	vals := template.Values()
	maps.Copy(vals, tariff.Values())
	out, err := decodeLimits(vals, true)
	if err != nil {
		// Values only yields valid limit names; this cannot happen.
		panic(fmt.Sprintf("ispmanager: MergeLimits: %v", err))
	}
	return out
}

// Clone returns a deep copy of l.
func (l Limits) Clone() Limits {
	var out Limits
	for _, f := range intFields {
		if v := *f.ptr(&l); v != nil {
			*f.ptr(&out) = Int(*v)
		}
	}
	for _, f := range boolFields {
		if v := *f.ptr(&l); v != nil {
			*f.ptr(&out) = Bool(*v)
		}
	}
	if l.Extra != nil {
		out.Extra = maps.Clone(l.Extra)
	}
	return out
}

// IsZero reports whether no limit is set.
func (l Limits) IsZero() bool { return len(l.Values()) == 0 }

// Validate checks l before it is sent: numeric limits are >= 0 or
// [Unlimited]; Extra names are lower-case letters, digits and underscores,
// do not repeat a typed field and carry no line breaks. It returns an
// *ArgumentError.
func (l Limits) Validate() error { return l.validate("Limits") }

func (l Limits) validate(op string) error {
	for _, f := range intFields {
		if v := *f.ptr(&l); v != nil && *v < 0 && *v != Unlimited {
			return argErr(op, LimitPrefix+f.name, "negative limit (use Unlimited for no bound)")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(l.Extra)) {
		name := strings.TrimPrefix(k, LimitPrefix)
		if !validLimitName(name) {
			return argErr(op, "Extra", "limit name must be lower-case letters, digits and underscores")
		}
		if isTypedLimit(name) {
			return argErr(op, "Extra", "limit "+name+" has a typed field; set that instead")
		}
		if name != k {
			if _, dup := l.Extra[name]; dup {
				return argErr(op, "Extra", "limit "+name+" given with and without the limit_ prefix")
			}
		}
		if strings.ContainsAny(l.Extra[k], "\r\n\x00") {
			return argErr(op, LimitPrefix+name, "value contains a line break")
		}
	}
	return nil
}

func validLimitName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Values returns the set limits as wire values keyed by name without the
// prefix: numbers in decimal, [Unlimited] as "", toggles as "on"/"off",
// Extra unchanged. Use it to bridge to a map-based representation such as
// billing.Limits.
func (l Limits) Values() map[string]string {
	out := map[string]string{}
	for _, f := range intFields {
		if v := *f.ptr(&l); v != nil {
			if *v == Unlimited {
				out[f.name] = ""
			} else {
				out[f.name] = strconv.Itoa(*v)
			}
		}
	}
	for _, f := range boolFields {
		if v := *f.ptr(&l); v != nil {
			out[f.name] = onOff(*v)
		}
	}
	for k, v := range l.Extra {
		out[strings.TrimPrefix(k, LimitPrefix)] = v
	}
	return out
}

// Get returns the wire value of the limit called name (with or without the
// prefix) and whether it is set.
func (l Limits) Get(name string) (string, bool) {
	v, ok := l.Values()[strings.TrimPrefix(name, LimitPrefix)]
	return v, ok
}

// Int returns the numeric limit called name (with or without the prefix):
// its value ([Unlimited] for no bound) and whether it is set.
func (l Limits) Int(name string) (int, bool) {
	name = strings.TrimPrefix(name, LimitPrefix)
	for _, f := range intFields {
		if f.name == name {
			if v := *f.ptr(&l); v != nil {
				return *v, true
			}
			return 0, false
		}
	}
	return 0, false
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ParseLimits builds Limits from wire values keyed by limit name, with or
// without the "limit_" prefix (a billing-side map, or form values). An
// empty value, "unlimited" or "-1" of a numeric limit is [Unlimited]. A
// malformed number or toggle, or a bad name, is an *ArgumentError.
func ParseLimits(values map[string]string) (Limits, error) {
	return decodeLimits(values, true)
}

// decodeLimits converts wire values; lenient mode (answers from a panel)
// keeps a value it cannot interpret in Extra instead of failing.
func decodeLimits(values map[string]string, strict bool) (Limits, error) {
	var l Limits
	seen := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		name := strings.TrimPrefix(k, LimitPrefix)
		raw := strings.TrimSpace(values[k])
		if seen[name] {
			if strict {
				return Limits{}, argErr("ParseLimits", name, "given with and without the limit_ prefix")
			}
			continue
		}
		seen[name] = true
		if err := setLimit(&l, name, raw); err != nil {
			if strict {
				return Limits{}, err
			}
			if l.Extra == nil {
				l.Extra = map[string]string{}
			}
			l.Extra[name] = values[k]
		}
	}
	if strict {
		if err := l.validate("ParseLimits"); err != nil {
			return Limits{}, err
		}
	}
	return l, nil
}

func setLimit(l *Limits, name, raw string) error {
	for _, f := range intFields {
		if f.name != name {
			continue
		}
		switch strings.ToLower(raw) {
		case "", "unlimited", "-1":
			*f.ptr(l) = Int(Unlimited)
			return nil
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return argErr("ParseLimits", LimitPrefix+name, "not a whole number >= 0")
		}
		*f.ptr(l) = Int(n)
		return nil
	}
	for _, f := range boolFields {
		if f.name != name {
			continue
		}
		switch strings.ToLower(raw) {
		case "on", "yes", "true", "1":
			*f.ptr(l) = Bool(true)
		case "off", "no", "false", "0", "":
			*f.ptr(l) = Bool(false)
		default:
			return argErr("ParseLimits", LimitPrefix+name, `not "on" or "off"`)
		}
		return nil
	}
	if !validLimitName(name) {
		return argErr("ParseLimits", name, "limit name must be lower-case letters, digits and underscores")
	}
	if l.Extra == nil {
		l.Extra = map[string]string{}
	}
	l.Extra[name] = raw
	return nil
}

// encodeLimits adds limit_<name>=<value> for every set limit.
func encodeLimits(v map[string][]string, l Limits) {
	for k, val := range l.Values() {
		v[LimitPrefix+k] = []string{val}
	}
}

// String lists the set limits ("db=10 domains=unlimited").
func (l Limits) String() string {
	vals := l.Values()
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(vals)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := vals[k]
		if v == "" && IsNumericLimit(k) {
			v = "unlimited"
		}
		fmt.Fprintf(&b, "%s=%s", k, v)
	}
	return b.String()
}

// UnlimitedLimits returns Limits with every typed numeric limit set to
// [Unlimited] and nothing else set: the limits of a preset the panel
// creates on its own when user.add.finish names one that does not exist
// .
func UnlimitedLimits() Limits {
	var l Limits
	for _, f := range intFields {
		*f.ptr(&l) = Int(Unlimited)
	}
	return l
}

// LimitNames returns the names (without the prefix) of the typed limits,
// numeric ones first, in a fixed order.
func LimitNames() []string {
	out := make([]string, 0, len(intFields)+len(boolFields))
	for _, f := range intFields {
		out = append(out, f.name)
	}
	for _, f := range boolFields {
		out = append(out, f.name)
	}
	return out
}
