package dcimanager5

import (
	"context"
	"fmt"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/validate"
)

// UsersService manages panel users and single sign-on. Get it from
// Client.Users.
type UsersService service

// LevelUser is the numeric level of an ordinary user in the user list.
const LevelUser = 16

// MaxUserName bounds a login name. A name is 1 to 64 characters: a letter
// or digit first, then letters, digits, '_', '-', '.' or '@'. No public
// source states DCImanager 5's rule; this is the rule of the COREmanager
// panels' login names (Linux-account-like, or e-mail-shaped as billing
// systems create them), kept strict so that a name a customer typed with
// '&', '%00' or 100,000 characters never reaches the panel.
const MaxUserName = 64

// User is one row of the user list.
type User struct {
	ID   int64
	Name string
	// Level is the numeric access level; 16 is an ordinary user.
	Level int
}

type wireUser struct {
	ID    text `json:"id"`
	Name  text `json:"name"`
	Level text `json:"level"`
}

// List returns every panel user.
//
// Calls func=user.
func (s *UsersService) List(ctx context.Context) ([]User, error) {
	d, err := s.c.call(ctx, mgr5.Request{Func: "user", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	ws, err := elems[wireUser](d, "user")
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.user())
	}
	return out, nil
}

func (w *wireUser) user() User {
	u := User{Name: w.Name.T, Level: atoiOr0(w.Level.T)}
	if w.Level.Orig != "" {
		if n := atoiOr0(w.Level.Orig); n != 0 {
			u.Level = n
		}
	}
	u.ID, _ = parseID(w.ID.T)
	return u
}

// FindByName returns the user called name (any level), or an error matching
// IsNotFound.
//
// Calls func=user.
func (s *UsersService) FindByName(ctx context.Context, name string) (*User, error) {
	if why := validate.Login(name, MaxUserName); why != "" {
		return nil, argErr("Users.FindByName", "name", why)
	}
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Name == name {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("dcimanager5: user %q: %w", name, ErrNotFound)
}

// UserCreateRequest creates a user.
type UserCreateRequest struct {
	// Name is the login name. Required.
	Name string
	// Password is the login password. Required; redacted in logs.
	Password string
	// Level is the symbolic level; default "lvUser".
	Level string
}

type userCreateParams struct {
	Name   string `url:"name"`
	Passwd string `url:"passwd"`
	Level  string `url:"level"`
}

// Create creates a user and returns it. A duplicate name fails with
// IsExists. The call is sent once and never retried: on a transport error
// check MayHaveHappened and look the user up with FindByName.
//
// Calls func=user.edit (sok=ok, level=lvUser).
func (s *UsersService) Create(ctx context.Context, r UserCreateRequest) (*User, error) {
	if why := validate.Login(r.Name, MaxUserName); why != "" {
		return nil, argErr("Users.Create", "Name", why)
	}
	if why := validate.Password(r.Password); why != "" {
		return nil, argErr("Users.Create", "Password", why)
	}
	if r.Level == "" {
		r.Level = "lvUser"
	}
	if !strings.HasPrefix(r.Level, "lv") {
		return nil, argErr("Users.Create", "Level", fmt.Sprintf("%q is not a symbolic level such as lvUser", r.Level))
	}
	d, err := s.c.exec(ctx, mgr5.Request{Func: "user.edit", Sok: true, Params: userCreateParams{Name: r.Name, Passwd: r.Password, Level: r.Level}, Class: httpx.NonIdempotent})
	if err != nil {
		return nil, err
	}
	id, ok := parseID(d.ID())
	if !ok {
		return nil, &ProtocolError{Panel: "dcimanager5", Func: "user.edit", Reason: "no numeric id for the created user"}
	}
	u := &User{ID: id, Name: r.Name}
	if r.Level == "lvUser" {
		u.Level = LevelUser
	}
	return u, nil
}

type userPasswordParams struct {
	Passwd  string `url:"passwd"`
	Confirm string `url:"confirm"`
}

// SetPassword sets the login password of user id (the panel user a
// billing system considers the server's owner). The password follows the
// same rule as in Create (required) and is redacted in logs; invalid input
// is an *ArgumentError and nothing is sent. Setting the same password again
// is harmless, so the call is retried like the other idempotent writes. An
// unknown id fails with IsNotFound.
//
// No public source names DCImanager 5's password-change function (the
// wire ledger records it as assumed); this follows the COREmanager convention that the
// ISPmanager clients use: editing the user form with the new password and
// its confirmation.
//
// Calls func=user.edit (elid=id, sok=ok, passwd, confirm).
func (s *UsersService) SetPassword(ctx context.Context, userID int64, password string) error {
	if err := checkID("Users.SetPassword", "userID", userID); err != nil {
		return err
	}
	if why := validate.Password(password); why != "" {
		return argErr("Users.SetPassword", "password", why)
	}
	_, err := s.c.exec(ctx, mgr5.Request{Func: "user.edit", Elid: []string{idStr(userID)}, Sok: true,
		Params: userPasswordParams{Passwd: password, Confirm: password}, Class: httpx.IdempotentWrite})
	return err
}

// Delete deletes user id. DCImanager 5's user.delete is not confirmed by a
// public source; it follows the COREmanager naming.
//
// Calls func=user.delete.
func (s *UsersService) Delete(ctx context.Context, id int64) error {
	if err := checkID("Users.Delete", "id", id); err != nil {
		return err
	}
	_, err := s.c.exec(ctx, mgr5.Request{Func: "user.delete", Elid: []string{idStr(id)}, Class: httpx.IdempotentWrite})
	return err
}

// LoginURL returns a one-time URL that logs username into the panel in a
// browser (the "log in to control panel" button). The client must be an
// administrator. The URL carries a secret key: hand it to the user, do not
// log it.
//
// Calls func=session.newkey.
func (s *UsersService) LoginURL(ctx context.Context, username string) (string, error) {
	if why := validate.Login(username, MaxUserName); why != "" {
		return "", argErr("Users.LoginURL", "username", why)
	}
	return s.c.m.LoginURL(ctx, username)
}

// AsUser returns a client acting as username, without knowing its
// password: it creates a key as administrator and exchanges it for a
// session of that user (the WHMCS module does this for client-side reboot,
// power and reinstall). The session is renewed the same way when it
// expires.
//
// Calls func=session.newkey, then func=auth with the key.
func (s *UsersService) AsUser(ctx context.Context, username string) (*Client, error) {
	if why := validate.Login(username, MaxUserName); why != "" {
		return nil, argErr("Users.AsUser", "username", why)
	}
	m, err := s.c.m.AsUser(ctx, username)
	if err != nil {
		return nil, err
	}
	return wrap(m, s.c.pollMin, s.c.pollMax, s.c.clock), nil
}
