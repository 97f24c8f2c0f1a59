package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestUsers_GetConcurrent: answers written at the same time from reused
// buffers (writeJSON) and cached users (store) each carry their own user:
// users of different sizes are read by parallel clients, and every answer
// must be the one user asked for, as a sequential read gave it.
func TestUsers_GetConcurrent(t *testing.T) {
	e := newEnv(t)
	var ids []string
	want := map[string][]byte{}
	for i := range 8 {
		u := e.createUser(t, map[string]any{"username": "u" + strconv.Itoa(i), "name": strings.Repeat("n", 16*i),
			"customData": map[string]any{"i": i, "pad": strings.Repeat("p", 700*i)}})
		ids = append(ids, u.ID)
		want[u.ID] = e.do(t, "GET", "/api/users/"+u.ID, nil, http.StatusOK, nil).Body
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := ids[(w+i)%len(ids)]
				req, _ := http.NewRequest("GET", e.URL+"/api/users/"+id, nil)
				req.Header.Set("Authorization", "Bearer "+e.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, want[id]) {
					t.Errorf("user %s: %d %v: %.80s, want %.80s", id, resp.StatusCode, err, body, want[id])
					return
				}
			}
		})
	}
	wg.Wait()
}
