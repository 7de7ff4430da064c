package dcimanager6

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ispkit/ispkit/internal/httpx"
)

func TestDecodeErrorRedactsValue(t *testing.T) {
	t.Parallel()
	body := `{"error":{"code":2000,"msg":"bad\npassword","value":{"password":"hunter2","field":"x","nested":{"token":"abc"}}}}`
	e := decodeError("Users.Create", "POST", "/api/dci/v3/user", &httpx.Response{StatusCode: 400, Body: []byte(body), Attempts: 1})
	assert.Equal(t, 2000, e.Code)
	assert.Equal(t, "bad password", e.Msg)
	assert.NotContains(t, string(e.Value), "hunter2")
	assert.NotContains(t, string(e.Value), "abc")
	assert.Contains(t, string(e.Value), `"field":"x"`)

	e = decodeError("Servers.Get", "GET", "/x", &httpx.Response{StatusCode: 502, Body: []byte("<html>bad gateway</html>")})
	assert.Equal(t, "Bad Gateway", e.Msg)
	assert.Equal(t, 0, e.Code)
}
