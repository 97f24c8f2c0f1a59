package api

import (
	"context"
	"net/http"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// paging says whether a list route pages only on request: some Logto lists
// answer with every row, and no paging headers, when the query names neither
// page nor page_size.
type paging int

const (
	pagedAlways paging = iota
	pagedOnRequest
)

// listQuery is the parsed paging and search of a list request.
type listQuery struct {
	page   pagination.Params
	search search.Query
	paged  bool // write Total-Number and Link headers
}

// parseList reads page, page_size and, when opts names fields, Logto's
// search parameters.
func parseList(r *request, mode paging, opts *search.Options) (listQuery, error) {
	q := r.URL.Query()
	p, err := pagination.Parse(q)
	if err != nil {
		return listQuery{}, err
	}
	lq := listQuery{page: p, paged: true}
	if mode == pagedOnRequest && !p.Explicit {
		lq.page, lq.paged = pagination.All(), false
	}
	if opts != nil {
		if lq.search, err = search.Parse(q, *opts); err != nil {
			return listQuery{}, searchError(err)
		}
	}
	return lq, nil
}

// writeList answers a list request with body and, when paged, the paging
// headers for total matches.
func (s *Server) writeList(w http.ResponseWriter, r *request, lq listQuery, total int, body any) {
	if lq.paged {
		pagination.WriteHeaders(w.Header(), s.baseURL, r.URL.EscapedPath(), r.URL.RawQuery, lq.page, total)
	}
	s.writeJSON(w, r, http.StatusOK, body)
}

// mapSlice returns f applied to every element of in.
func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// idsRequest is the body of the routes that assign several ids at once.
type idsRequest struct {
	RoleIDs        *[]string `json:"roleIds"`
	UserIDs        *[]string `json:"userIds"`
	ApplicationIDs *[]string `json:"applicationIds"`
	ScopeIDs       *[]string `json:"scopeIds"`

	OrganizationRoleIDs  *[]string `json:"organizationRoleIds"`
	OrganizationScopeIDs *[]string `json:"organizationScopeIds"`
}

// maxIDs bounds the ids of one assignment request.
const maxIDs = 1000

// decodeIDs reads the id list named field from the body.
func decodeIDs(w http.ResponseWriter, r *request, field string) ([]string, error) {
	var req idsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	ids := map[string]*[]string{"roleIds": req.RoleIDs, "userIds": req.UserIDs,
		"applicationIds": req.ApplicationIDs, "scopeIds": req.ScopeIDs,
		"organizationRoleIds": req.OrganizationRoleIDs, "organizationScopeIds": req.OrganizationScopeIDs}[field]
	if err := requireField(ids != nil, field); err != nil {
		return nil, err
	}
	return checkIDs(field, *ids)
}

// checkIDs refuses empty ids and over-long lists.
func checkIDs(field string, ids []string) ([]string, error) {
	if len(ids) > maxIDs {
		return nil, fieldErr(field, "must hold at most 1000 ids")
	}
	for _, id := range ids {
		if id == "" {
			return nil, fieldErr(field, "ids must not be empty")
		}
	}
	return ids, nil
}

// assignIDsHandler serves POST (add, 201) and PUT (replace, 204) of the ids
// listed in the body's field for the object named by route param: the
// members of an organization, the scopes of an organization role. POST needs
// at least one id; with echo its answer repeats the ids, as Logto's POST of
// organization users does, otherwise it has no body.
func (s *Server) assignIDsHandler(param, field string, replace, echo bool,
	assign func(ctx context.Context, tenant, owner string, ids []string, replace bool) error) handler {
	return func(w http.ResponseWriter, r *request) error {
		ids, err := decodeIDs(w, r, field)
		if err != nil {
			return err
		}
		if !replace && len(ids) == 0 {
			return fieldErr(field, "must hold at least one id")
		}
		if err := assign(r.Context(), r.tenant, r.param(param), ids, replace); err != nil {
			return err
		}
		switch {
		case replace:
			w.WriteHeader(http.StatusNoContent)
		case echo:
			s.writeJSON(w, r, http.StatusCreated, map[string][]string{field: ids})
		default:
			w.WriteHeader(http.StatusCreated)
		}
		return nil
	}
}
