package dcimanager6

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/validate"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ---- users ----

// UsersService manages DCImanager users (/dci/v3/user).
type UsersService service

// List returns one page of users and the total.
//
// endpoint: GET /dci/v3/user
func (s *UsersService) List(ctx context.Context, opts *ListOptions) ([]User, int, error) {
	return list[User](ctx, s.c, "Users.List", pathUsers, opts, Where{})
}

// All iterates over every user matching opts.
func (s *UsersService) All(ctx context.Context, opts *ListOptions) iter.Seq2[User, error] {
	return all[User](ctx, s.c, "Users.All", pathUsers, opts, Where{})
}

// Get returns one user. (inferred) endpoint.
//
// endpoint: GET /dci/v3/user/{id}
func (s *UsersService) Get(ctx context.Context, id int64) (*User, error) {
	if err := checkID("Users.Get", "id", id); err != nil {
		return nil, err
	}
	return get[User](ctx, s.c, "Users.Get", pathf(pathUser, id))
}

// GetByEmail finds a user by e-mail; an *Error matching ErrNotFound when
// there is none.
func (s *UsersService) GetByEmail(ctx context.Context, email string) (*User, error) {
	users, _, err := s.List(ctx, &ListOptions{Where: EQ("email", email), Limit: Limit(0, 1)})
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, &Error{StatusCode: http.StatusNotFound, Code: CodeNotFound, Op: "Users.GetByEmail",
			Method: http.MethodGet, Path: s.c.prefix + pathUsers, Msg: "no user with that e-mail", Attempts: 1}
	}
	return &users[0], nil
}

// UserCreateRequest is the body of a user creation (vendor docs).
type UserCreateRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	FullName string `json:"full_name,omitempty"`
	Phone    string `json:"phone_number,omitempty"`
	// Role is e.g. "@user" (default) or "@admin"; the full list is (assumed).
	Role string `json:"role,omitempty"`
}

// String never shows the password.
func (r UserCreateRequest) String() string {
	return "UserCreateRequest{Email:" + r.Email + " Role:" + r.Role + " Password:REDACTED}"
}

// GoString never shows the password.
func (r UserCreateRequest) GoString() string { return "dcimanager6." + r.String() }

// Validate checks the request before it is sent.
func (r *UserCreateRequest) Validate() error {
	const op = "Users.Create"
	if why := validate.Email(r.Email); why != "" {
		return argErr(op, "Email", why)
	}
	if why := validate.Password(r.Password); why != "" {
		return argErr(op, "Password", why)
	}
	if why := validate.Text(r.FullName, validate.MaxText); why != "" {
		return argErr(op, "FullName", why)
	}
	if r.Role != "" && !strings.HasPrefix(r.Role, "@") {
		return argErr(op, "Role", `must look like "@user"`)
	}
	return nil
}

// Create creates a user and returns its ID. Sent once: after a transport
// error, look the user up with GetByEmail before trying again. An
// existing e-mail is a conflict (IsConflict).
//
// endpoint: POST /dci/v3/user
func (s *UsersService) Create(ctx context.Context, req UserCreateRequest) (int64, error) {
	if err := req.Validate(); err != nil {
		return 0, err
	}
	if req.Role == "" {
		req.Role = "@user"
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := s.c.do(ctx, call{op: "Users.Create", method: http.MethodPost, path: pathUsers, body: req,
		class: httpx.NonIdempotent}, &out); err != nil {
		return 0, err
	}
	return out.ID, nil
}

// Delete deletes a user. (inferred) endpoint. Retried as an idempotent write: a
// repeat after success answers not found.
//
// endpoint: DELETE /dci/v3/user/{id}
func (s *UsersService) Delete(ctx context.Context, id int64) error {
	if err := checkID("Users.Delete", "id", id); err != nil {
		return err
	}
	return s.c.do(ctx, call{op: "Users.Delete", method: http.MethodDelete, path: pathf(pathUser, id),
		class: httpx.IdempotentWrite}, nil)
}

// ---- auth ----

// AuthService covers the auth v4 calls besides the login itself.
type AuthService service

// LoginKey is a one-time key that logs a user in through the browser.
// It is a secret: String and LogValue hide it.
type LoginKey struct {
	UserID string
	Key    string
	// URL opens the panel as the user (valid about one hour).
	URL string
}

// String hides the key.
func (k LoginKey) String() string { return "LoginKey{UserID:" + k.UserID + " Key:REDACTED}" }

// GoString hides the key.
func (k LoginKey) GoString() string { return "dcimanager6." + k.String() }

// Key creates a login key for the user given by numeric ID or e-mail
// (the "log in to DCImanager" button). Sent once.
//
// endpoint: POST /auth/v4/user/{id}/key
func (s *AuthService) Key(ctx context.Context, user string) (*LoginKey, error) {
	if user == "" || strings.ContainsAny(user, "/?#\r\n") {
		return nil, argErr("Auth.Key", "user", "empty or contains / ? #")
	}
	var out struct {
		ID  any    `json:"id"`
		Key string `json:"key"`
	}
	if err := s.c.do(ctx, call{op: "Auth.Key", method: http.MethodPost, path: pathf(pathUserKey, url.PathEscape(user)),
		body: struct{}{}, class: httpx.NonIdempotent}, &out); err != nil {
		return nil, err
	}
	k := &LoginKey{Key: out.Key, URL: s.c.base + pathf(pathKeyLogin, url.PathEscape(out.Key))}
	switch v := out.ID.(type) {
	case string:
		k.UserID = v
	case float64:
		k.UserID = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return k, nil
}

// Session describes the logged-in user (fields beyond these are (assumed)).
type Session struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Roles Roles  `json:"roles"`
}

// Whoami returns the session's user.
//
// endpoint: GET /auth/v4/whoami
func (s *AuthService) Whoami(ctx context.Context) (*Session, error) {
	return get[Session](ctx, s.c, "Auth.Whoami", pathWhoami)
}

// ---- locations ----

// LocationsService lists locations [G endpoint].
type LocationsService service

// List returns one page of locations.
//
// endpoint: GET /dci/v3/location
func (s *LocationsService) List(ctx context.Context, opts *ListOptions) ([]Location, int, error) {
	return list[Location](ctx, s.c, "Locations.List", pathLocations, opts, Where{})
}

// All iterates over every location.
func (s *LocationsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[Location, error] {
	return all[Location](ctx, s.c, "Locations.All", pathLocations, opts, Where{})
}

// Get returns one location.
//
// endpoint: GET /dci/v3/location/{id}
func (s *LocationsService) Get(ctx context.Context, id int64) (*Location, error) {
	if err := checkID("Locations.Get", "id", id); err != nil {
		return nil, err
	}
	return get[Location](ctx, s.c, "Locations.Get", pathf(pathLocation, id))
}

// ---- OS templates ----

// OSTemplatesService lists OS templates, which are stored per location.
type OSTemplatesService service

// List returns one page of the templates of a location (0 = all).
//
// endpoint: GET /dci/v3/os_template?where=location_id EQ {id} (assumed)
func (s *OSTemplatesService) List(ctx context.Context, locationID int64, opts *ListOptions) ([]OSTemplate, int, error) {
	return list[OSTemplate](ctx, s.c, "OSTemplates.List", pathOSTemplates, opts, locWhere(locationID))
}

// All iterates over the templates of a location (0 = all).
func (s *OSTemplatesService) All(ctx context.Context, locationID int64, opts *ListOptions) iter.Seq2[OSTemplate, error] {
	return all[OSTemplate](ctx, s.c, "OSTemplates.All", pathOSTemplates, opts, locWhere(locationID))
}

func locWhere(id int64) Where {
	if id <= 0 {
		return Where{}
	}
	return EQ(filterLocation, id)
}

// ---- switches ----

// SwitchesService reads switch ports and toggles them.
type SwitchesService service

// ListPorts returns one page of the ports of a switch.
//
// endpoint: GET /dci/v3/switch/{id}/port
func (s *SwitchesService) ListPorts(ctx context.Context, switchID int64, opts *ListOptions) ([]SwitchPort, int, error) {
	if err := checkID("Switches.ListPorts", "switchID", switchID); err != nil {
		return nil, 0, err
	}
	return list[SwitchPort](ctx, s.c, "Switches.ListPorts", pathf(pathSwitchPorts, switchID), opts, Where{})
}

// EnablePort sets a port administratively up. Idempotent.
//
// endpoint: POST /dci/v3/switch/{id}/port/{port}/enable (assumed)
func (s *SwitchesService) EnablePort(ctx context.Context, switchID, portID int64) error {
	return s.port(ctx, "Switches.EnablePort", pathPortEnable, switchID, portID)
}

// DisablePort sets a port administratively down. Idempotent.
//
// endpoint: POST /dci/v3/switch/{id}/port/{port}/disable (assumed)
func (s *SwitchesService) DisablePort(ctx context.Context, switchID, portID int64) error {
	return s.port(ctx, "Switches.DisablePort", pathPortDisable, switchID, portID)
}

func (s *SwitchesService) port(ctx context.Context, op, path string, switchID, portID int64) error {
	if err := checkID(op, "switchID", switchID); err != nil {
		return err
	}
	if err := checkID(op, "portID", portID); err != nil {
		return err
	}
	return s.c.do(ctx, call{op: op, method: http.MethodPost, path: pathf(path, switchID, portID), body: struct{}{},
		class: httpx.IdempotentWrite}, nil)
}

// ---- IPmanager ----

// IPsService reads addresses and pools of the IP service (/ip/v3).
type IPsService service

// List returns one page of IP addresses.
//
// endpoint: GET /ip/v3/ip
func (s *IPsService) List(ctx context.Context, opts *ListOptions) ([]IP, int, error) {
	return list[IP](ctx, s.c, "IPs.List", pathIPs, opts, Where{})
}

// All iterates over every IP address matching opts.
func (s *IPsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[IP, error] {
	return all[IP](ctx, s.c, "IPs.All", pathIPs, opts, Where{})
}

// Get returns one IP address.
//
// endpoint: GET /ip/v3/ip/{id}
func (s *IPsService) Get(ctx context.Context, id int64) (*IP, error) {
	if err := checkID("IPs.Get", "id", id); err != nil {
		return nil, err
	}
	return get[IP](ctx, s.c, "IPs.Get", pathf(pathIP, id))
}

// ListPools returns one page of pools.
//
// endpoint: GET /ip/v3/ippool
func (s *IPsService) ListPools(ctx context.Context, opts *ListOptions) ([]Pool, int, error) {
	return list[Pool](ctx, s.c, "IPs.ListPools", pathPools, opts, Where{})
}

// AllPools iterates over every pool matching opts.
func (s *IPsService) AllPools(ctx context.Context, opts *ListOptions) iter.Seq2[Pool, error] {
	return all[Pool](ctx, s.c, "IPs.AllPools", pathPools, opts, Where{})
}

// GetPool returns one pool.
//
// endpoint: GET /ip/v3/ippool/{id}
func (s *IPsService) GetPool(ctx context.Context, id int64) (*Pool, error) {
	if err := checkID("IPs.GetPool", "id", id); err != nil {
		return nil, err
	}
	return get[Pool](ctx, s.c, "IPs.GetPool", pathf(pathPool, id))
}
