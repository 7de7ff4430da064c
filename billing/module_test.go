package billing_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
)

const secret = "s3cr3t-Pa55"

func validDCI5() *billing.Module {
	return &billing.Module{
		Kind:       billing.KindDCImanager5,
		Name:       "dci-msk",
		URL:        "https://dci.example.com:1500/dcimgr",
		Username:   "admin",
		Password:   secret,
		SortOrder:  10,
		Department: "Hardware",
		DataCenter: "Moscow",
		IPManager: &billing.IPManagerLink{
			URL:          "https://ipmgr.example.com/ipmgr",
			Username:     "ipuser",
			Password:     secret + "-ip",
			ParkingGroup: "parking",
		},
	}
}

func TestModuleValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(m *billing.Module)
		field  string // "" = valid
	}{
		{"valid dci5", func(*billing.Module) {}, ""},
		{"valid dci6", func(m *billing.Module) { m.Kind = billing.KindDCImanager6; m.DataCenter = "3"; m.IPManager = nil }, ""},
		{"valid ispmanager", func(m *billing.Module) { m.Kind = billing.KindISPmanager; m.IPManager = nil }, ""},
		{"unknown kind", func(m *billing.Module) { m.Kind = "vmmanager" }, "Kind"},
		{"empty name", func(m *billing.Module) { m.Name = "" }, "Name"},
		{"padded name", func(m *billing.Module) { m.Name = " dci " }, "Name"},
		{"no url", func(m *billing.Module) { m.URL = "" }, "URL"},
		{"ftp url", func(m *billing.Module) { m.URL = "ftp://dci.example.com" }, "URL"},
		{"relative url", func(m *billing.Module) { m.URL = "dci.example.com" }, "URL"},
		{"url with credentials", func(m *billing.Module) { m.URL = "https://u:p@dci.example.com" }, "URL"},
		{"no username", func(m *billing.Module) { m.Username = " " }, "Username"},
		{"no password", func(m *billing.Module) { m.Password = "" }, "Password"},
		{"dci6 without data center", func(m *billing.Module) { m.Kind = billing.KindDCImanager6; m.IPManager = nil; m.DataCenter = "" }, "DataCenter"},
		{"padded data center", func(m *billing.Module) { m.DataCenter = "Moscow " }, "DataCenter"},
		{"error recipient with line break", func(m *billing.Module) { m.ErrorRecipient = "admin\nBcc: x@example.com" }, "ErrorRecipient"},
		{"error recipient", func(m *billing.Module) { m.ErrorRecipient = "noc@example.com" }, ""},
		{"new server type on ispmanager", func(m *billing.Module) { m.Kind = billing.KindISPmanager; m.IPManager = nil; m.NewServerType = true }, "NewServerType"},
		{"new server type without department", func(m *billing.Module) { m.NewServerType = true; m.Department = "" }, "Department"},
		{"new server type with department", func(m *billing.Module) { m.NewServerType = true }, ""},
		{"ipmanager on dci6", func(m *billing.Module) { m.Kind = billing.KindDCImanager6; m.DataCenter = "1" }, "IPManager"},
		{"ipmanager bad url", func(m *billing.Module) { m.IPManager.URL = "nope" }, "IPManager.URL"},
		{"ipmanager no user", func(m *billing.Module) { m.IPManager.Username = "" }, "IPManager.Username"},
		{"ipmanager no password", func(m *billing.Module) { m.IPManager.Password = "" }, "IPManager.Password"},
		{"parking equals public", func(m *billing.Module) { m.IPManager.ParkingGroup = "public" }, "IPManager.ParkingGroup"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := validDCI5()
			tc.mutate(m)
			err := m.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ve *billing.ArgumentError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Arg)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

func TestModuleValidateNil(t *testing.T) {
	t.Parallel()
	var m *billing.Module
	var ve *billing.ArgumentError
	require.ErrorAs(t, m.Validate(), &ve)
}

func TestModuleNeverPrintsPassword(t *testing.T) {
	t.Parallel()
	m := validDCI5()
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		for _, arg := range []any{m, *m, []billing.Module{*m}, map[string]billing.Module{"x": *m}, *m.IPManager, m.IPManager} {
			out := fmt.Sprintf(format, arg)
			assert.NotContains(t, out, secret, "format %s on %T", format, arg)
		}
	}
	assert.Contains(t, fmt.Sprintf("%+v", m), "dci-msk")
	assert.Contains(t, fmt.Sprintf("%+v", m), "[REDACTED]")
	assert.Contains(t, fmt.Sprintf("%#v", *m), `Name:"dci-msk"`)

	var buf bytes.Buffer
	for _, h := range []slog.Handler{
		slog.NewTextHandler(&buf, nil),
		slog.NewJSONHandler(&buf, nil),
	} {
		l := slog.New(h)
		l.Info("module", "module", m, "value", *m, "link", m.IPManager)
	}
	assert.NotContains(t, buf.String(), secret)
	assert.Contains(t, buf.String(), "dci-msk")
	assert.Contains(t, buf.String(), "ipmgr.example.com")
}

func TestModuleEmptyPasswordNotRedacted(t *testing.T) {
	t.Parallel()
	m := billing.Module{Name: "x"}
	assert.NotContains(t, m.String(), "[REDACTED]", "an unset password is shown as empty")
}

func TestModuleClone(t *testing.T) {
	t.Parallel()
	m := validDCI5()
	c := m.Clone()
	c.IPManager.PublicGroup = "other"
	c.Name = "copy"
	assert.Equal(t, "", m.IPManager.PublicGroup)
	assert.Equal(t, "dci-msk", m.Name)
	assert.Nil(t, (*billing.Module)(nil).Clone())
}

func TestIPManagerLinkIPGroup(t *testing.T) {
	t.Parallel()
	var nilLink *billing.IPManagerLink
	assert.Equal(t, "public", nilLink.IPGroup())
	assert.Equal(t, "public", (&billing.IPManagerLink{}).IPGroup())
	assert.Equal(t, "white", (&billing.IPManagerLink{PublicGroup: "white"}).IPGroup())
}

func TestArgumentErrorMessage(t *testing.T) {
	t.Parallel()
	err := error(&billing.ArgumentError{Package: "billing", Arg: "URL", Reason: "required"})
	assert.Equal(t, "billing: invalid URL: required", err.Error())
	assert.False(t, errors.Is(err, billing.ErrModuleInUse))
	assert.True(t, ispkit.IsInvalidArgument(err), "billing shares ispkit's error for refused input")
	assert.True(t, ispkit.IsInvalidArgument((&billing.Module{}).Validate()))
}
