package mgr5_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/mgr5"
)

// ---------------------------------------------------------------------------
// ParseRequest

func TestParseRequestGET(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet,
		"/dcimgr?func=server.poweron&elid=1,+2,3&plid=9&sok=ok&su=bob&lang=ru&out=sjson&authinfo=a:p", nil)
	sr, err := mgr5.ParseRequest(r)
	require.NoError(t, err)
	assert.Equal(t, "server.poweron", sr.Func)
	assert.Equal(t, "sjson", sr.Out)
	assert.Equal(t, "1, 2,3", sr.Elid)
	assert.Equal(t, []string{"1", "2", "3"}, sr.Elids())
	assert.Equal(t, "9", sr.Plid)
	assert.True(t, sr.Sok)
	assert.Equal(t, "bob", sr.Su)
	assert.Equal(t, "ru", sr.Lang)
	assert.Equal(t, "a:p", sr.Get("authinfo"))
	assert.True(t, sr.Has("authinfo"))
	assert.False(t, sr.Has("auth"))

	sr, err = mgr5.ParseRequest(httptest.NewRequest(http.MethodGet, "/dcimgr?func=server", nil))
	require.NoError(t, err)
	assert.Equal(t, "xml", sr.Out, "xml is the panels' default output")
	assert.False(t, sr.Sok)
	assert.Nil(t, sr.Elids())

	sr = &mgr5.ServerRequest{Elid: " , 4 ,, 5 "}
	assert.Equal(t, []string{"4", "5"}, sr.Elids())
}

func TestParseRequestPOSTBodyWins(t *testing.T) {
	t.Parallel()
	body := url.Values{"func": {"user.edit"}, "name": {"body"}, "sok": {"ok"}, "out": {"json"}}.Encode()
	r := httptest.NewRequest(http.MethodPost, "/ispmgr?func=user&name=query&elid=bob&out=xml", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	sr, err := mgr5.ParseRequest(r)
	require.NoError(t, err)
	assert.Equal(t, "user.edit", sr.Func, "body wins")
	assert.Equal(t, "body", sr.Get("name"))
	assert.Equal(t, []string{"body"}, sr.Params["name"], "not merged with the query value")
	assert.Equal(t, "bob", sr.Elid, "query-only parameters are kept")
	assert.Equal(t, "json", sr.Out)
	assert.True(t, sr.Sok)

	// Multipart forms.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("func", "file.upload"))
	require.NoError(t, mw.WriteField("elid", "7"))
	require.NoError(t, mw.Close())
	r = httptest.NewRequest(http.MethodPost, "/ispmgr?func=x&out=json", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	sr, err = mgr5.ParseRequest(r)
	require.NoError(t, err)
	assert.Equal(t, "file.upload", sr.Func)
	assert.Equal(t, "7", sr.Elid)
	assert.Equal(t, "json", sr.Out)

	// Unsupported and malformed bodies.
	r = httptest.NewRequest(http.MethodPost, "/ispmgr", strings.NewReader(`{"func":"x"}`))
	r.Header.Set("Content-Type", "application/json")
	_, err = mgr5.ParseRequest(r)
	assert.Error(t, err)
	r = httptest.NewRequest(http.MethodPost, "/ispmgr", strings.NewReader("func=%zz"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = mgr5.ParseRequest(r)
	assert.Error(t, err)
}

// The client's own request, parsed by the server half.
func TestClientRequestParsedByServer(t *testing.T) {
	t.Parallel()
	var got *mgr5.ServerRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		got, err = mgr5.ParseRequest(r)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mgr5.Render(w, got.Out, mgr5.NewDoc().OK())
	}))
	t.Cleanup(srv.Close)
	c := newMgrClient(t, srv.URL+"/dcimgr", mgr5.AuthInfo, func(cfg *mgr5.Config) { cfg.Lang = "en" })
	_, err := c.Exec(ctxT(t), mgr5.Request{Func: "server.poweroff", Elid: []string{"3", "4"}, Plid: "1", Sok: true, Su: "bob"})
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, "server.poweroff", got.Func)
	assert.Equal(t, []string{"3", "4"}, got.Elids())
	assert.Equal(t, "1", got.Plid)
	assert.True(t, got.Sok)
	assert.Equal(t, "bob", got.Su)
	assert.Equal(t, "en", got.Lang)
	assert.Equal(t, "json", got.Out)
	assert.Equal(t, adminUser+":"+adminPass, got.Get("authinfo"))
}

// ---------------------------------------------------------------------------
// Render

func serverList(n int) *mgr5.Node {
	doc := mgr5.NewDoc()
	doc.Attr("func", "server").Attr("lang", "en")
	for i := range n {
		e := doc.Elem()
		e.Add("id", string(rune('1'+i)))
		e.Add("hostname", "free.ds")
		e.Add("database", "Notused").Attr("orig", "db_not_assigned")
		e.FlagIf("poweron", i == 0)
		e.FlagIf("blocked", i == 1)
	}
	doc.Add("p_cnt", "1000")
	return doc
}

func TestRenderJSONCollapsesSingleElem(t *testing.T) {
	t.Parallel()
	b := mgr5.RenderJSON(serverList(1), false)
	var raw struct {
		Doc map[string]json.RawMessage `json:"doc"`
	}
	require.NoError(t, json.Unmarshal(b, &raw), string(b))
	assert.Equal(t, byte('{'), raw.Doc["elem"][0], "json: one row is an object")
	assert.JSONEq(t, `{"id":{"$":"1"},"hostname":{"$":"free.ds"},"database":{"$orig":"db_not_assigned","$":"Notused"},"poweron":{}}`,
		string(raw.Doc["elem"]))
	assert.JSONEq(t, `"server"`, string(raw.Doc["$func"]))
	assert.JSONEq(t, `{"$":"1000"}`, string(raw.Doc["p_cnt"]))

	b = mgr5.RenderJSON(serverList(1), true)
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Equal(t, byte('['), raw.Doc["elem"][0], "sjson: always an array")
	assert.Equal(t, byte('{'), raw.Doc["p_cnt"][0], "sjson: only repeatables become arrays")

	b = mgr5.RenderJSON(serverList(2), false)
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Equal(t, byte('['), raw.Doc["elem"][0], "two rows are an array")

	// An exact rendering, to pin the mapping down.
	doc := mgr5.NewDoc()
	doc.Add("auth", "S1").Attr("id", "S1").Attr("level", "16")
	doc.OK()
	assert.Equal(t, `{"doc":{"auth":{"$id":"S1","$level":"16","$":"S1"},"ok":{}}}`, string(mgr5.RenderJSON(doc, false)))

	sl := mgr5.NewDoc()
	s := sl.Add("slist", "").Attr("name", "owner")
	s.Add("val", "bob").Attr("key", "3")
	assert.Equal(t, `{"doc":{"slist":{"$name":"owner","val":{"$key":"3","$":"bob"}}}}`, string(mgr5.RenderJSON(sl, false)))
	assert.Equal(t, `{"doc":{"slist":[{"$name":"owner","val":[{"$key":"3","$":"bob"}]}]}}`, string(mgr5.RenderJSON(sl, true)))
}

func TestRenderJSONEscaping(t *testing.T) {
	t.Parallel()
	doc := mgr5.NewDoc()
	doc.Add("note", `a "quoted" \ <tag> & `+"\n\u00e9\u2028").Attr("x", `"`)
	b := mgr5.RenderJSON(doc, false)
	require.True(t, json.Valid(b), string(b))
	d, err := mgr5.Decode("p", "f", b)
	require.NoError(t, err)
	assert.Equal(t, `a "quoted" \ <tag> & `+"\n\u00e9\u2028", d.Text("note"))
}

func TestRenderXML(t *testing.T) {
	t.Parallel()
	doc := serverList(2)
	doc.Add("note", `<b>"x" & 'y'</b>`).Attr("title", `a<"b">&'c'`)
	b := mgr5.RenderXML(doc)
	s := string(b)
	assert.True(t, strings.HasPrefix(s, xml.Header), s)
	assert.Contains(t, s, `<doc func="server" lang="en">`)
	assert.Contains(t, s, "<poweron/>", "flags are empty elements")
	assert.Contains(t, s, "<blocked/>")
	assert.Contains(t, s, `<database orig="db_not_assigned">Notused</database>`)
	assert.Contains(t, s, "<elem><id>1</id>")
	assert.Equal(t, 2, strings.Count(s, "<elem>"), "repeated elements stay repeated")
	assert.NotContains(t, s, `<b>"x"`, "text is escaped")
	assert.NotContains(t, s, `a<"b">`, "attributes are escaped")

	// It is well-formed and reads back with encoding/xml.
	var parsed struct {
		Func string `xml:"func,attr"`
		Elem []struct {
			ID       string    `xml:"id"`
			PowerOn  *struct{} `xml:"poweron"`
			Database struct {
				Orig string `xml:"orig,attr"`
				Text string `xml:",chardata"`
			} `xml:"database"`
		} `xml:"elem"`
		Note struct {
			Title string `xml:"title,attr"`
			Text  string `xml:",chardata"`
		} `xml:"note"`
	}
	require.NoError(t, xml.Unmarshal(b, &parsed), s)
	assert.Equal(t, "server", parsed.Func)
	require.Len(t, parsed.Elem, 2)
	assert.NotNil(t, parsed.Elem[0].PowerOn)
	assert.Nil(t, parsed.Elem[1].PowerOn)
	assert.Equal(t, "db_not_assigned", parsed.Elem[0].Database.Orig)
	assert.Equal(t, `<b>"x" & 'y'</b>`, parsed.Note.Text)
	assert.Equal(t, `a<"b">&'c'`, parsed.Note.Title)

	assert.Equal(t, xml.Header+"<doc/>", string(mgr5.RenderXML(mgr5.NewDoc())))
}

func TestRenderFormats(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"json":     "application/json; charset=UTF-8",
		"sjson":    "application/json; charset=UTF-8",
		"JSONdata": "application/json; charset=UTF-8",
		"xml":      "text/xml; charset=UTF-8",
		"":         "text/xml; charset=UTF-8",
		"devel":    "text/xml; charset=UTF-8",
	}
	for out, ct := range cases {
		w := httptest.NewRecorder()
		mgr5.Render(w, out, serverList(1))
		assert.Equal(t, http.StatusOK, w.Code, out)
		assert.Equal(t, ct, w.Header().Get("Content-Type"), out)
		switch out {
		case "json", "sjson":
			rows, err := mgr5.DecodeList("p", "server", w.Body.Bytes())
			require.NoError(t, err, out)
			assert.Len(t, rows, 1, out)
		case "JSONdata":
			var rows []map[string]string
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rows))
			assert.Equal(t, []map[string]string{{"id": "1", "hostname": "free.ds", "database": "Notused", "poweron": ""}}, rows)
		default:
			assert.True(t, strings.HasPrefix(w.Body.String(), "<?xml"), out)
		}
	}
	// JSONdata: no rows is an empty array; a form is one flat object.
	w := httptest.NewRecorder()
	mgr5.Render(w, "JSONdata", mgr5.NewDoc())
	assert.JSONEq(t, `[]`, w.Body.String())
	form := mgr5.NewDoc()
	form.Add("hostname", "h1")
	mgr5.TParams(form, &mgr5.ServerRequest{Params: url.Values{"func": {"server.edit"}}})
	w = httptest.NewRecorder()
	mgr5.Render(w, "JSONdata", form)
	assert.JSONEq(t, `{"hostname":"h1"}`, w.Body.String())
}

func TestRenderDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	build := func() *mgr5.Node {
		doc := serverList(3)
		doc.Add("id", "42")
		doc.OK()
		sl := doc.Add("slist", "").Attr("name", "owner")
		sl.Add("val", "none").Attr("key", "no_owner")
		one := doc.Add("slist", "").Attr("name", "os")
		one.Add("val", "CentOS 7").Attr("key", "ISPsystem__CentOS-7")
		mgr5.TParams(doc, &mgr5.ServerRequest{Params: url.Values{"func": {"server"}, "authinfo": {"a:SECRET"}}})
		return doc
	}
	for _, strict := range []bool{false, true} {
		b := mgr5.RenderJSON(build(), strict)
		assert.NotContains(t, string(b), "SECRET", "tparams never echo credentials")
		d, err := mgr5.Decode("p", "server", b)
		require.NoError(t, err)
		assert.True(t, d.OK())
		assert.Equal(t, "42", d.ID())
		rows, err := d.Rows()
		require.NoError(t, err)
		require.Len(t, rows, 3)
		assert.True(t, rows[0].Has("poweron"))
		assert.False(t, rows[0].Has("blocked"))
		assert.True(t, rows[1].Has("blocked"))
		assert.Equal(t, "db_not_assigned", rows[2]["database"].Orig)
		assert.Equal(t, "Notused", rows[2].Get("database"))
		assert.Equal(t, []mgr5.Value{{Key: "no_owner", Text: "none", Present: true}}, d.SelectList("owner"))
		assert.Equal(t, "ISPsystem__CentOS-7", d.SelectList("os")[0].Key)
		assert.Equal(t, "server", d.Text("$func"))
		f := d.Form()
		assert.Contains(t, f, "id")
		assert.NotContains(t, f, "tparams")
		assert.NotContains(t, f, "slist")
		assert.NotContains(t, f, "elem")

		one := mgr5.RenderJSON(serverList(1), strict)
		rows, err = mgr5.DecodeList("p", "server", one)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		assert.Equal(t, "1", rows[0].Get("id"))
	}
}

func TestErrorDocRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   mgr5.Error
		is   error
		want mgr5.Error // Type, Object, Value, Message
	}{
		{mgr5.Error{Type: mgr5.TypeAuth, Object: "badpassword", Value: "remote_addr: [127.0.0.1]"}, mgr5.ErrAuth,
			mgr5.Error{Type: "auth", Object: "badpassword", Value: "remote_addr: [127.0.0.1]", Message: "Invalid username or password"}},
		{mgr5.Error{Type: mgr5.TypeExists, Object: "user", Value: "bob"}, mgr5.ErrExists,
			mgr5.Error{Type: "exists", Object: "user", Value: "bob", Message: "The user 'bob' already exists"}},
		{mgr5.Error{Type: mgr5.TypeMissed, Object: "elid", Value: "9"}, mgr5.ErrNotFound,
			mgr5.Error{Type: "missed", Object: "elid", Value: "9", Message: "The elid '9' not found"}},
		{mgr5.Error{Type: mgr5.TypeValue, Object: "port", Value: "x", Message: "Bad port '__value__'"}, mgr5.ErrValue,
			mgr5.Error{Type: "value", Object: "port", Value: "x", Message: "Bad port 'x'"}},
		{mgr5.Error{Type: mgr5.TypeValue, Object: "passwd", Value: "Pw-Secret", Message: "Weak '__value__'"}, mgr5.ErrValue,
			mgr5.Error{Type: "value", Object: "passwd", Value: "REDACTED", Message: "Weak 'REDACTED'"}},
		{mgr5.Error{Type: mgr5.TypeAccess, Object: "server"}, mgr5.ErrAccess,
			mgr5.Error{Type: "access", Object: "server", Message: "Access to 'server' denied"}},
	}
	for _, tc := range cases {
		for _, strict := range []bool{false, true} {
			b := mgr5.RenderJSON(mgr5.ErrorDoc(&tc.in, ""), strict)
			_, err := mgr5.Decode("p", "f", b)
			var e *mgr5.Error
			require.ErrorAs(t, err, &e, string(b))
			assert.ErrorIs(t, err, tc.is)
			assert.Equal(t, tc.want.Type, e.Type)
			assert.Equal(t, tc.want.Object, e.Object)
			assert.Equal(t, tc.want.Value, e.Value)
			assert.Equal(t, tc.want.Message, e.Message)
			assert.NotContains(t, err.Error(), "Pw-Secret")
			rows, lerr := mgr5.DecodeList("p", "f", b)
			assert.Nil(t, rows)
			assert.True(t, errors.As(lerr, &e))
		}
	}
	// Shape of the error document itself: like the panels' (§2.6).
	b := mgr5.RenderJSON(mgr5.ErrorDoc(&mgr5.Error{Type: "exists", Object: "user", Value: "bob"}, "ru"), false)
	var raw struct {
		Doc struct {
			Error map[string]json.RawMessage `json:"error"`
		} `json:"doc"`
	}
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.JSONEq(t, `"ru"`, string(raw.Doc.Error["$lang"]))
	assert.JSONEq(t, `"exists"`, string(raw.Doc.Error["$type"]))
	assert.JSONEq(t, `[{"$name":"object","$type":"msg","$":"user"},{"$name":"value","$":"bob"}]`, string(raw.Doc.Error["param"]))
	assert.Contains(t, raw.Doc.Error, "msg")
	assert.Contains(t, raw.Doc.Error, "detail")

	x := string(mgr5.RenderXML(mgr5.ErrorDoc(&mgr5.Error{Type: "auth", Object: "badpassword"}, "")))
	assert.Contains(t, x, `<error type="auth" object="badpassword" lang="en">`)
}

func TestTParamsLeaveOutCredentials(t *testing.T) {
	t.Parallel()
	doc := mgr5.NewDoc()
	mgr5.TParams(doc, &mgr5.ServerRequest{Params: url.Values{
		"func": {"user.edit"}, "elid": {"bob"}, "authinfo": {"a:S1"}, "password": {"S2"}, "passwd": {"S3"},
		"confirm": {"S4"}, "checkpasswd": {"S5"}, "auth": {"S6"},
	}})
	b := string(mgr5.RenderJSON(doc, false))
	for _, s := range []string{"S1", "S2", "S3", "S4", "S5", "S6"} {
		assert.NotContains(t, b, `"`+s+`"`)
	}
	d, err := mgr5.Decode("p", "f", []byte(b))
	require.NoError(t, err)
	var tp map[string]mgr5.Value
	require.NoError(t, d.Into("tparams", &tp))
	assert.Equal(t, "user.edit", tp["func"].Text)
	assert.Equal(t, "bob", tp["elid"].Text)
	assert.Len(t, tp, 2)
}

// ---------------------------------------------------------------------------
// RandomKey

func TestRandomKey(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	counts := map[rune]int{}
	for _, n := range []int{0, 1, 16, 32, 100, 1000} {
		k := mgr5.RandomKey(n)
		assert.Len(t, k, n)
		for _, r := range k {
			require.True(t, (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'), "%q in %q", r, k)
			counts[r]++
		}
	}
	for range 200 {
		k := mgr5.RandomKey(32)
		require.Regexp(t, `^[a-z0-9]{32}$`, k)
		require.False(t, seen[k], "a key repeated")
		seen[k] = true
		for _, r := range k {
			counts[r]++
		}
	}
	// 7,549 characters drawn: every one of the 36 symbols shows up.
	assert.Len(t, counts, 36)
}

func TestParseRequestBodyWithoutContentType(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/dcimgr?out=json", strings.NewReader("func=server&elid=7"))
	r.Header.Del("Content-Type")
	req, err := mgr5.ParseRequest(r)
	require.NoError(t, err)
	require.Equal(t, "server", req.Func)
	require.Equal(t, "7", req.Elid)
	require.Equal(t, "json", req.Out)
}
