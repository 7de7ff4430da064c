package mgr5

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
)

// ErrStop is returned by a StreamList row function to stop reading early;
// StreamList then returns nil.
var ErrStop = errors.New("mgr5: stop")

// StreamList sends r like List and decodes doc.elem one row at a time as
// the body arrives, so a list of any length costs the memory of one row
// (plus the decoder's buffer), never of the whole body. row gets the raw
// JSON of each row — an object, or null for a null item of an array —
// valid only during the call; a single object in elem is one row, as in
// List. A row function error stops the reading and is returned (ErrStop
// gives nil).
//
// Errors are those of List: a doc.error is a *Error, a body that is not a
// panel document a *ProtocolError, a body past the client's size cap an
// *httpx.ResponseTooLargeError, and a body that breaks off a
// *httpx.TransportError. Rows seen before such an error were valid rows;
// the caller decides what a partial list is worth. In session mode an
// expired session is renewed once, as in List, when no row was read yet.
// The attempt's timeout covers the whole reading.
func (c *Client) StreamList(ctx context.Context, r Request, row func(raw json.RawMessage) error) error {
	v, err := c.Encode(r)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		sid, err := c.authenticate(ctx, v)
		if err != nil {
			return err
		}
		rows := 0
		err = c.stream(ctx, r.Func, r.Class, v, func(raw json.RawMessage) error {
			rows++
			return row(raw)
		})
		var e *Error
		if c.mode == AuthSession && attempt == 0 && rows == 0 && errors.As(err, &e) && e.Type == TypeAuth {
			c.dropSession(sid)
			continue
		}
		if errors.Is(err, ErrStop) {
			return nil
		}
		return err
	}
}

// stream posts already-authenticated values and decodes the answer with
// decodeStream; a non-200 answer is read whole and judged like post does.
func (c *Client) stream(ctx context.Context, fn string, class httpx.Class, v url.Values, row func(json.RawMessage) error) error {
	body, hdr := httpx.FormBody(v)
	_, err := c.h.Stream(ctx, &httpx.Request{
		Method: http.MethodPost, URL: c.endpoint, Header: hdr, Body: body,
		Op: fn, Params: v, Class: &class,
	}, func(status int, _ http.Header, r io.Reader) error {
		if status != http.StatusOK {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			return c.statusError(fn, status, b)
		}
		return decodeStream(c.panel, fn, r, row)
	})
	return err
}

// statusError judges a non-200 answer: panels answer 200 even for errors,
// so a doc.error in another status still wins (as *Error); otherwise the
// status is the error.
func (c *Client) statusError(fn string, status int, body []byte) error {
	if _, derr := Decode(c.panel, fn, body); derr != nil {
		var e *Error
		if errors.As(derr, &e) {
			return derr
		}
	}
	return &ProtocolError{Panel: c.panel, Func: fn, StatusCode: status, Reason: http.StatusText(status), Size: len(body)}
}

// countingReader counts the bytes read, for the Size of a ProtocolError.
type countingReader struct {
	r io.Reader
	n int
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n += n
	return n, err
}

// decodeStream walks {"doc":{"elem":…,"error":…,…}} token by token with
// DecodeList's rules (the keys doc, elem and error match in any case),
// handing each row of elem to row as it is read and skipping every other
// value. A non-null doc.error stops the walk as *Error. Where DecodeList
// lets a repeated elem or error override the first, the stream has already
// acted on the first: such documents are not something a panel sends.
func decodeStream(panel, fn string, body io.Reader, row func(json.RawMessage) error) error {
	cr := &countingReader{r: body}
	dec := json.NewDecoder(cr)
	bad := func(reason string) error {
		return &ProtocolError{Panel: panel, Func: fn, Reason: reason, Size: cr.n}
	}
	notJSON := func(err error) error { return bad("response is not a JSON list document: " + err.Error()) }
	if t, err := dec.Token(); err != nil {
		return notJSON(err)
	} else if t != json.Delim('{') {
		return bad("response is not a JSON object")
	}
	seenDoc := false
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return notJSON(err)
		}
		if key, _ := k.(string); !strings.EqualFold(key, "doc") {
			if err := skipValue(dec); err != nil {
				return notJSON(err)
			}
			continue
		}
		t, err := dec.Token()
		if err != nil {
			return notJSON(err)
		}
		switch t {
		case nil: // "doc": null is no doc
			continue
		case json.Delim('{'):
		default:
			return bad(`"doc" is not an object`)
		}
		seenDoc = true
		if err := docChildrenStream(panel, fn, dec, row, notJSON, bad); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return notJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("data after the document")
	}
	if !seenDoc {
		return bad(`response has no "doc" element`)
	}
	return nil
}

// docChildrenStream reads the children of doc, its brace consumed, up to
// and including the closing brace.
func docChildrenStream(panel, fn string, dec *json.Decoder, row func(json.RawMessage) error, notJSON func(error) error, bad func(string) error) error {
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return notJSON(err)
		}
		key, _ := k.(string)
		switch {
		case strings.EqualFold(key, "elem"):
			if err := elemStream(dec, row, notJSON, bad); err != nil {
				return err
			}
		case strings.EqualFold(key, "error"):
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return notJSON(err)
			}
			if !isNull(raw) {
				return decodeError(panel, fn, raw)
			}
		default:
			if err := skipValue(dec); err != nil {
				return notJSON(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return notJSON(err)
	}
	return nil
}

// elemStream reads the value of doc.elem: null, one row object or an
// array of rows (objects or nulls).
func elemStream(dec *json.Decoder, row func(json.RawMessage) error, notJSON func(error) error, bad func(string) error) error {
	t, err := dec.Token()
	if err != nil {
		return notJSON(err)
	}
	switch t {
	case nil:
		return nil
	case json.Delim('['):
		var raw json.RawMessage
		for dec.More() {
			raw = raw[:0]
			if err := dec.Decode(&raw); err != nil {
				return notJSON(err)
			}
			if c := raw[0]; c != '{' && c != 'n' {
				return bad("an elem row is not an object")
			}
			if err := row(raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return notJSON(err)
		}
		return nil
	case json.Delim('{'):
		// One row given as an object: its brace is consumed, so the row
		// is rebuilt field by field (one row, small).
		var b bytes.Buffer
		b.WriteByte('{')
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return notJSON(err)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return notJSON(err)
			}
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			key, _ := json.Marshal(k)
			b.Write(key)
			b.WriteByte(':')
			b.Write(raw)
		}
		if _, err := dec.Token(); err != nil {
			return notJSON(err)
		}
		b.WriteByte('}')
		return row(b.Bytes())
	}
	return bad("elem is neither a row nor a list of rows")
}

// skipValue consumes one JSON value.
func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

// DecodeRow decodes one raw row from StreamList into v with
// encoding/json; a failure is the *ProtocolError List gives for a row it
// cannot read.
func DecodeRow(panel, fn string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return &ProtocolError{Panel: panel, Func: fn, Reason: "cannot decode an elem row: " + err.Error(), Size: len(raw)}
	}
	return nil
}

// StreamRows is StreamList with each row decoded as List decodes it (a
// null item is a nil Row). The Row is the caller's to keep.
func (c *Client) StreamRows(ctx context.Context, r Request, row func(Row) error) error {
	return c.StreamList(ctx, r, func(raw json.RawMessage) error {
		var out Row
		if err := DecodeRow(c.panel, r.Func, raw, &out); err != nil {
			return err
		}
		return row(out)
	})
}

// All offers a StreamList reading as an iterator: decode turns each raw
// row into a T (ok false skips the row, e.g. a null item). A failure —
// of the call, of the body or of decode — is yielded once, with a zero
// T, as the last pair. Breaking out of the loop stops the reading and
// closes the answer.
func All[T any](ctx context.Context, c *Client, r Request, decode func(raw json.RawMessage) (v T, ok bool, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		stopped := false
		err := c.StreamList(ctx, r, func(raw json.RawMessage) error {
			v, ok, err := decode(raw)
			if err != nil || !ok {
				return err
			}
			if !yield(v, nil) {
				stopped = true
				return ErrStop
			}
			return nil
		})
		if err != nil && !stopped {
			var zero T
			yield(zero, err)
		}
	}
}
