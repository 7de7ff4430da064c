package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openAPIDoc is the part of the document the tests read.
type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		OperationID string            `json:"operationId"`
		Security    *[]map[string]any `json:"security"`
		Responses   map[string]any    `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Enum       []string                   `json:"enum"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var d openAPIDoc
	require.NoError(t, json.Unmarshal(openAPIDocument, &d))
	return d
}

// TestOpenAPIMatchesRoutes: the document describes exactly the routes the
// bridge serves, with the same methods, security and error codes, and the
// served document is the checked-in file.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3."), "OpenAPI 3")
	b := newTestBridge(t)

	var documented, served []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			public := op.Security != nil && len(*op.Security) == 0
			if !public {
				assert.Contains(t, op.Responses, "401", "%s %s documents 401", method, path)
			}
			assert.NotEmpty(t, op.OperationID, "%s %s", method, path)
		}
	}
	for _, rt := range b.api.routes() {
		served = append(served, rt.method+" "+rt.path)
		op := doc.Paths[rt.path][strings.ToLower(rt.method)]
		public := op.Security != nil && len(*op.Security) == 0
		assert.Equal(t, rt.public, public, "%s %s: security", rt.method, rt.path)
	}
	sort.Strings(documented)
	sort.Strings(served)
	require.Equal(t, served, documented)

	// Every documented route is reached through HTTP (not the fallback).
	for _, r := range documented {
		method, path, _ := strings.Cut(r, " ")
		ctx, cancel := context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, method, b.url+strings.ReplaceAll(path, "{id}", "1"), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req) // returns with the headers: the event stream stays open
		require.NoError(t, err)
		var e struct{ Error APIError }
		if resp.Header.Get("Content-Type") == "application/json" {
			_ = json.NewDecoder(resp.Body).Decode(&e)
		}
		resp.Body.Close()
		cancel()
		assert.NotEqual(t, http.StatusMethodNotAllowed, resp.StatusCode, r)
		assert.False(t, strings.HasPrefix(e.Error.Message, "no such route"), "%s: %s", r, e.Error.Message)
	}

	file, err := os.ReadFile("openapi.json")
	require.NoError(t, err)
	a := b.callWith("GET", "/v1/openapi.json", nil, map[string]string{"Authorization": ""})
	assert.Equal(t, file, a.body)
	assert.Equal(t, "application/json", a.header.Get("Content-Type"))

	codes := doc.Components.Schemas["ErrorCode"].Enum
	assert.ElementsMatch(t, errorCodes, codes, "error codes")
}

// TestOpenAPISchemas: the documented properties are the JSON fields of the
// Go types the bridge encodes.
func TestOpenAPISchemas(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for name, v := range map[string]any{
		"Plan": Plan{}, "Service": Service{}, "Operation": Operation{}, "ActionResult": actionResult{},
		"Error": APIError{}, "CreateRequest": createBody{}, "Event": Event{}, "Choices": Choices{},
	} {
		var fields []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			fields = append(fields, tag)
		}
		var props []string
		for p := range doc.Components.Schemas[name].Properties {
			props = append(props, p)
		}
		slices.Sort(fields)
		slices.Sort(props)
		assert.Equal(t, fields, props, name)
	}
}
