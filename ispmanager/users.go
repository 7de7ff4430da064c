package ispmanager

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/validate"
)

// UsersService manages ISPmanager users (hosting accounts). A user is
// identified by its name, which is also the elid of every user.* function.
type UsersService service

// User is an ISPmanager user.
type User struct {
	// Name is the login and the panel key (elid).
	Name string
	// FullName is the display name (fullname).
	FullName string
	// Owner is the owning administrator or reseller; empty on Lite.
	Owner string
	// Level is the numeric access level; 16 is an ordinary user.
	Level int
	// Active is false while the user is suspended.
	Active bool
	// QuotaUsed and QuotaTotal are the disk columns of the user list, as
	// the panel shows them.
	QuotaUsed, QuotaTotal string
	// Preset is the template the user was created from or moved to; only
	// Get fills it (from user.edit).
	Preset string
	// Limits are the user's effective limits; only Get fills them (from
	// user.edit).
	Limits Limits
}

// IPSource says whether user.add.finish gives the user a dedicated
// address (ipsrc).
type IPSource string

// IP sources seen in the WHMCS module.
const (
	// IPAuto assigns a free dedicated address of IPType (not on Lite).
	IPAuto IPSource = "auto"
	// IPDoNotAssign keeps the user on the shared address.
	IPDoNotAssign IPSource = "do_not_assign"
)

// IPType is the address family of an automatically assigned address.
type IPType string

// Address families (iptype).
const (
	IPv4 IPType = "ipv4"
	IPv6 IPType = "ipv6"
)

// UserCreateRequest is the input of Users.Create (user.add.finish).
type UserCreateRequest struct {
	// Name is the new login (required): a letter first, then letters,
	// digits, '_', '-' or '.', at most 32 characters.
	Name string
	// Password is the login password (required); sent as passwd and
	// confirm.
	Password string
	// FullName is the display name (optional).
	FullName string
	// Preset is the template ("Account template" of the tariff). A preset
	// that does not exist is created by the panel with unlimited
	// resources. Empty sends none.
	Preset string
	// Limits are the tariff's explicit limits; they win over the preset's
	// (see MergeLimits). Unset limits come from the preset.
	Limits Limits
	// Domain, when set, makes the panel create the site (WWW domain), the
	// mail domain and the DNS domain with the user; it is sent as
	// webdomain_name and emaildomain_name, as BILLmanager's and the
	// vendor's WHMCS module do. Empty sends webdomain=off and
	// emaildomain=off. If the domain exists the panel answers exists/name
	// (IsDomainExists): retry without it, or check first with
	// Domains.Exists as the WHMCS module does.
	Domain string
	// Email is the user's contact address (optional).
	Email string
	// IPSource chooses a dedicated or the shared address; empty sends
	// none (panel default).
	IPSource IPSource
	// IPType is the family for IPAuto (default: the panel's).
	IPType IPType
}

// Validate checks the request before it is sent and returns an
// *ArgumentError.
func (r *UserCreateRequest) Validate() error {
	const op = "Users.Create"
	if r == nil {
		return argErr(op, "request", "nil")
	}
	if err := validateUserName(op, r.Name); err != nil {
		return err
	}
	if err := validatePassword(op, r.Password); err != nil {
		return err
	}
	if why := validate.Text(r.FullName, 255); why != "" {
		return argErr(op, "FullName", why)
	}
	if r.Preset != "" {
		if err := validatePresetName(op, r.Preset); err != nil {
			return err
		}
	}
	if r.Domain != "" && !validDomain(r.Domain) {
		return argErr(op, "Domain", "not a domain name")
	}
	if r.Email != "" && (!strings.Contains(r.Email, "@") || strings.ContainsAny(r.Email, " \r\n\x00,")) {
		return argErr(op, "Email", "not an e-mail address")
	}
	switch r.IPSource {
	case "", IPAuto, IPDoNotAssign:
	default:
		return argErr(op, "IPSource", `must be "auto" or "do_not_assign"`)
	}
	switch r.IPType {
	case "":
	case IPv4, IPv6:
		if r.IPSource != IPAuto {
			return argErr(op, "IPType", "only used with IPAuto")
		}
	default:
		return argErr(op, "IPType", `must be "ipv4" or "ipv6"`)
	}
	return r.Limits.validate(op)
}

// Create adds a user with user.add.finish, the function BILLmanager uses,
// sending name, passwd, confirm, fullname, preset, the set limit_* values,
// webdomain_name and emaildomain_name (or webdomain=off, emaildomain=off),
// ftp_user_name (the account's name: its main FTP user, as the WHMCS
// module creates it), email, ipsrc and iptype.
//
// It is not idempotent and is sent exactly once (no retries): after a
// *TransportError with MayHaveHappened, check with Get before creating
// again. A taken name fails with IsUserExists, an existing WWW domain with
// IsDomainExists. The returned User is built from the request (Active,
// name, preset, the limits sent); call Get for the panel's effective
// limits.
func (s *UsersService) Create(ctx context.Context, r *UserCreateRequest) (*User, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	v := url.Values{}
	v.Set("name", r.Name)
	v.Set("passwd", r.Password)
	v.Set("confirm", r.Password)
	setIf(v, "fullname", r.FullName)
	setIf(v, "preset", r.Preset)
	if r.Domain != "" {
		v.Set("webdomain_name", r.Domain)
		v.Set("emaildomain_name", r.Domain)
	} else {
		v.Set("webdomain", "off")
		v.Set("emaildomain", "off")
	}
	v.Set("ftp_user_name", r.Name)
	setIf(v, "email", r.Email)
	setIf(v, "ipsrc", string(r.IPSource))
	setIf(v, "iptype", string(r.IPType))
	encodeLimits(v, r.Limits)
	if _, err := s.c.m.Exec(ctx, mgr5.Request{Func: "user.add.finish", Sok: true, Params: v, Class: httpx.NonIdempotent}); err != nil {
		return nil, scrubSecrets(err, r.Password)
	}
	return &User{Name: r.Name, FullName: r.FullName, Active: true, Level: 16, Preset: r.Preset, Limits: r.Limits.Clone()}, nil
}

func setIf(v url.Values, k, val string) {
	if val != "" {
		v.Set(k, val)
	}
}

// List returns every user with the user function (name, fullname, owner,
// level, active, quota columns). Preset and Limits are not filled.
func (s *UsersService) List(ctx context.Context) ([]User, error) {
	rows, err := s.c.m.List(ctx, mgr5.Request{Func: "user", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(rows))
	for _, r := range rows {
		out = append(out, userFromRow(r))
	}
	return out, nil
}

// All yields every user, like List, but reads the answer as it arrives:
// memory stays at about one row however many accounts the server holds.
// A failure is yielded once, as the last pair, with a zero User; breaking
// out of the loop stops the reading. The answer is capped by
// WithMaxResponseSize and the timeout of WithTimeout covers the whole
// reading, so keep the loop body quick.
//
// Calls func=user, as List.
func (s *UsersService) All(ctx context.Context) iter.Seq2[User, error] {
	return mgr5.All(ctx, s.c.m, mgr5.Request{Func: "user", Class: httpx.SafeRead}, func(raw json.RawMessage) (User, bool, error) {
		var r mgr5.Row
		if err := mgr5.DecodeRow(s.c.m.Panel(), "user", raw, &r); err != nil || r == nil {
			return User{}, false, err
		}
		return userFromRow(r), true, nil
	})
}

func userFromRow(r mgr5.Row) User {
	lvl, _ := strconv.Atoi(r.Get("level"))
	return User{
		Name: r.Get("name"), FullName: r.Get("fullname"), Owner: r.Get("owner"), Level: lvl,
		Active: mgr5.ParseOnOff(r.Get("active")), QuotaUsed: r.Get("quota_used"), QuotaTotal: r.Get("quota_total"),
	}
}

// Get reads one user: preset and limits from the user.edit form (elid =
// name), status and owner from its row of the user list. An unknown name
// fails with IsNotFound.
func (s *UsersService) Get(ctx context.Context, name string) (*User, error) {
	if err := validateUserName("Users.Get", name); err != nil {
		return nil, err
	}
	d, err := s.c.m.Call(ctx, mgr5.Request{Func: "user.edit", Elid: []string{name}, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	form := d.Form()
	rows, err := s.c.m.List(ctx, mgr5.Request{Func: "user", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	var u *User
	for _, r := range rows {
		if r.Get("name") == name {
			x := userFromRow(r)
			u = &x
			break
		}
	}
	if u == nil {
		return nil, &Error{Panel: "ispmanager", Func: "user", Type: mgr5.TypeMissed, Object: "user", Value: name,
			Message: "user.edit knows the user but the user list does not"}
	}
	if fn := form["fullname"].Text; fn != "" {
		u.FullName = fn
	}
	u.Preset = form["preset"].Text
	u.Limits = limitsFromForm(form)
	return u, nil
}

func limitsFromForm(form map[string]mgr5.Value) Limits {
	vals := map[string]string{}
	for k, v := range form {
		if strings.HasPrefix(k, LimitPrefix) {
			vals[k] = v.Text
		}
	}
	l, _ := decodeLimits(vals, false)
	return l
}

// UserUpdateRequest is the input of Users.Update (user.edit). Nil fields
// and unset limits are not sent.
type UserUpdateRequest struct {
	// Preset moves the user to another template. (inferred) The panel then takes
	// the limits from the new preset, except those set in Limits.
	Preset *string
	// FullName changes the display name.
	FullName *string
	// Limits are the limits to change; they win over the preset's.
	Limits Limits
}

// Validate checks the request before it is sent and returns an
// *ArgumentError.
func (r *UserUpdateRequest) Validate() error {
	const op = "Users.Update"
	if r == nil {
		return argErr(op, "request", "nil")
	}
	if r.Preset == nil && r.FullName == nil && r.Limits.IsZero() {
		return argErr(op, "request", "nothing to change")
	}
	if r.Preset != nil {
		if err := validatePresetName(op, *r.Preset); err != nil {
			return err
		}
	}
	if r.FullName != nil && strings.ContainsAny(*r.FullName, "\r\n\x00") {
		return argErr(op, "FullName", "contains a line break")
	}
	return r.Limits.validate(op)
}

// Update changes a user's preset, display name and limits with user.edit
// (elid = name, sok=ok), the "change plan" call of the billing modules.
// The panel refuses to lower a limit below the user's current usage; that
// refusal comes back as *LimitBelowUsageError (IsLimitBelowUsage) and
// nothing is changed. Retried on transport errors (setting values twice
// has the same effect).
func (s *UsersService) Update(ctx context.Context, name string, r *UserUpdateRequest) error {
	if err := validateUserName("Users.Update", name); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	v := url.Values{}
	if r.Preset != nil {
		v.Set("preset", *r.Preset)
	}
	if r.FullName != nil {
		v.Set("fullname", *r.FullName)
	}
	encodeLimits(v, r.Limits)
	_, err := s.c.m.Exec(ctx, mgr5.Request{Func: "user.edit", Elid: []string{name}, Sok: true, Params: v, Class: httpx.IdempotentWrite})
	if err != nil {
		return asLimitBelowUsage(err, name, v)
	}
	return nil
}

// SetPassword changes a user's password with user.edit (elid, passwd,
// confirm, sok=ok), as the Blesta and FOSSBilling modules do (see
// the wire ledger). The password never appears in logs or errors.
func (s *UsersService) SetPassword(ctx context.Context, name, password string) error {
	if err := validateUserName("Users.SetPassword", name); err != nil {
		return err
	}
	if err := validatePassword("Users.SetPassword", password); err != nil {
		return err
	}
	v := url.Values{"passwd": {password}, "confirm": {password}}
	_, err := s.c.m.Exec(ctx, mgr5.Request{Func: "user.edit", Elid: []string{name}, Sok: true, Params: v, Class: httpx.IdempotentWrite})
	return scrubSecrets(err, password)
}

// Suspend blocks a user with user.suspend (elid = name): sites stop and
// the user cannot log in. Suspending a suspended user succeeds.
func (s *UsersService) Suspend(ctx context.Context, name string) error {
	return s.group(ctx, "Users.Suspend", "user.suspend", name)
}

// Resume unblocks a suspended user with user.resume (elid = name).
func (s *UsersService) Resume(ctx context.Context, name string) error {
	return s.group(ctx, "Users.Resume", "user.resume", name)
}

// Delete removes a user and its data with user.delete (elid = name). An
// unknown name fails with IsNotFound; because the call is retried on
// transport errors, a caller that needs "gone" semantics should treat
// IsNotFound as success.
func (s *UsersService) Delete(ctx context.Context, name string) error {
	return s.group(ctx, "Users.Delete", "user.delete", name)
}

func (s *UsersService) group(ctx context.Context, op, fn, name string) error {
	if err := validateUserName(op, name); err != nil {
		return err
	}
	_, err := s.c.m.Exec(ctx, mgr5.Request{Func: fn, Elid: []string{name}, Class: httpx.IdempotentWrite})
	return err
}

// Usage is one resource's consumption as userstat reports it.
type Usage struct {
	// Used is the amount in use (usages_used); 0 when not a number.
	Used int
	// Total is the limit (usages_total); Unlimited when empty or not a
	// number.
	Total int
}

// Usage reads a user's resource usage with userstat (su = name), keyed by
// limit name without the prefix ("db", "quota"), taken from the row's
// $orig name.
func (s *UsersService) Usage(ctx context.Context, name string) (map[string]Usage, error) {
	if err := validateUserName("Users.Usage", name); err != nil {
		return nil, err
	}
	rows, err := s.c.m.List(ctx, mgr5.Request{Func: "userstat", Su: name, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Usage, len(rows))
	for _, r := range rows {
		key := r["name"].Orig
		if key == "" {
			key = r.Get("name")
		}
		key = strings.TrimPrefix(key, LimitPrefix)
		if key == "" {
			continue
		}
		used, _ := strconv.Atoi(strings.TrimSpace(r.Get("usages_used")))
		total, err := strconv.Atoi(strings.TrimSpace(r.Get("usages_total")))
		if err != nil {
			total = Unlimited
		}
		out[key] = Usage{Used: used, Total: total}
	}
	return out, nil
}

// validateUserName enforces the client's rule for user names: 1–32
// characters, a letter first, then ASCII letters, digits, '_', '-' or '.'.
// (inferred) This is the Linux account-name rule ISPmanager users follow; it also
// keeps ", " (the group-elid separator) out of names.
func validateUserName(op, name string) error {
	if name == "" {
		return argErr(op, "user name", "empty")
	}
	if len(name) > 32 {
		return argErr(op, "user name", "longer than 32 characters")
	}
	for i, c := range name {
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if i == 0 && !letter {
			return argErr(op, "user name", "must start with a letter")
		}
		if !letter && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' {
			return argErr(op, "user name", "only letters, digits, '_', '-' and '.' are allowed")
		}
	}
	return nil
}

func validatePassword(op, pw string) error {
	if why := validate.Password(pw); why != "" {
		return argErr(op, "password", why)
	}
	return nil
}

// validDomain accepts host names of dot-separated labels of letters,
// digits and '-' (IDNs in punycode).
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// DiskQuotasEnabled reports whether the panel's disk quotas are on. The
// panel's user form offers the disk limit (limit_quota) only while they
// are ("this field is available if disk quotas are enabled", ISPmanager's
// "Account limits and resources" page); on ISPmanager Lite they are often
// off, and a quota sent at creation is then silently ignored. It reads the
// blank new-user form.
//
// Calls func=user.edit (no elid, no sok).
func (s *UsersService) DiskQuotasEnabled(ctx context.Context) (bool, error) {
	d, err := s.c.m.Call(ctx, mgr5.Request{Func: "user.edit", Class: httpx.SafeRead})
	if err != nil {
		return false, err
	}
	_, ok := d.Form()[LimitPrefix+"quota"]
	return ok, nil
}
