package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// The contract suite runs the same checks on every entity of the store,
// through its exported methods only, so that it holds whatever the storage
// underneath looks like (as dex's storage conformance tests do): create,
// get, update and delete with the pinned clock, ENOTFOUND for unknown ids,
// the uniqueness conflict, tenant isolation, page boundaries and list order.
// Each entity is one row of contractEntities. Relations are checked by
// TestCascades_Contract (deleting either end), TestCascades_Refused,
// TestCascades_DeleteTenant and TestRelations_TenantIsolation, on one
// fixture (newContractFixture), and by TestRelationPaging_Contract, all in
// db_relation_contract_test.go. Only exported methods are called.

// contractView is what a contract row reads back from an entity: the field
// its create sets from the item number and its update changes, and the
// entity's timestamps (0 where it has none).
type contractView struct {
	name      string
	createdAt int64
	updatedAt int64
}

// entityContract adapts one entity to the suite. Ids are opaque to the
// suite; an entity that lives under a parent (a scope under its resource)
// encodes it as "parent/child" with contractID.
type entityContract struct {
	name string
	// global entities (tenants, instance administrators) are not per tenant
	// and skip the isolation checks.
	global bool
	// setup makes what the items of tenant hang under and returns its id,
	// or "" when the entity has no parent.
	setup func(t *testing.T, db *DB, tenant string) string
	// create makes item i under parent and returns its id.
	create func(db *DB, tenant, parent string, i int) (string, error)
	// created is the view name item i reads back as; contractName when nil.
	created func(i int) string
	get     func(db *DB, tenant, id string) (contractView, error)
	// update changes item id so that it reads back as updated, and returns
	// its id afterwards (a secret's name is its id). nil: no update.
	update  func(db *DB, tenant, id string) (string, error)
	updated string
	delete  func(db *DB, tenant, id string) error
	// list returns the ids of a page of parent's items and their total.
	list func(db *DB, tenant, parent string, p pagination.Params) ([]string, int, error)
	// unpaged lists ignore p: the paging subtest checks only the total.
	unpaged bool
	// order is how list orders items made a millisecond apart, as each
	// Find method documents it.
	order contractOrder
	// conflict repeats the unique value of item 0 (whose id is id0) and must
	// fail with conflictCode and conflictDetail. nil: nothing is unique.
	conflict       func(db *DB, tenant, parent, id0 string) error
	conflictCode   string
	conflictDetail string
	// clash updates item id1 to the unique value of item id0, which must
	// fail as conflict does. nil: the unique value cannot change.
	clash func(db *DB, tenant, id0, id1 string) error
	// stamped and touched say whether the entity reports createdAt and
	// updatedAt.
	stamped, touched bool
}

// contractOrder is the order of a list: by creation time either way, or by id.
type contractOrder int

const (
	orderNewestFirst contractOrder = iota + 1
	orderOldestFirst
	orderByID
)

// contractName is the name item i of an entity is created with.
func contractName(i int) string { return fmt.Sprintf("item_%d", i) }

// contractID joins a parent and a child id; splitContractID undoes it.
func contractID(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "/" + child
}

func splitContractID(id string) (parent, child string) {
	if p, c, ok := strings.Cut(id, "/"); ok {
		return p, c
	}
	return "", id
}

// contractClock is a store clock the suite moves forward between a create
// and an update, so that a stale or copied updatedAt shows, and between
// creates, so that lists by creation time have one right order.
type contractClock struct{ ms atomic.Int64 }

func (c *contractClock) now() time.Time { return time.UnixMilli(c.ms.Load()).UTC() }

// contractUpdateAt is the clock reading during updates.
var contractUpdateAt = testNow.Add(time.Minute)

// contractPageAll is a page that holds every item the suite makes.
var contractPageAll = pagination.Params{Page: 1, PageSize: 100}

// contractNotFound is the ENOTFOUND a get made of a list returns for an id the
// list does not hold.
func contractNotFound(id string) (contractView, error) {
	return contractView{}, Errorf(ENOTFOUND, "%s is not listed", id)
}

func TestEntities_Contract(t *testing.T) {
	for _, e := range contractEntities() {
		t.Run(e.name, func(t *testing.T) { testEntityContract(t, e) })
	}
}

// testEntityContract runs the named contract subtests for entity e.
func testEntityContract(t *testing.T, e entityContract) {
	open := func(t *testing.T) (*DB, *contractClock) {
		clock := &contractClock{}
		clock.ms.Store(testNow.UnixMilli())
		return mustOpenClock(t, clock.now), clock
	}
	setup := func(t *testing.T, db *DB, tenant string) string {
		if e.setup == nil {
			return ""
		}
		return e.setup(t, db, tenant)
	}
	wantName := func(i int) string {
		if e.created != nil {
			return e.created(i)
		}
		return contractName(i)
	}
	mustCreate := func(t *testing.T, db *DB, tenant, parent string, i int) string {
		t.Helper()
		id, err := e.create(db, tenant, parent, i)
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		return id
	}
	total := func(t *testing.T, db *DB, tenant, parent string) int {
		t.Helper()
		_, n, err := e.list(db, tenant, parent, contractPageAll)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		return n
	}

	t.Run("CRUD", func(t *testing.T) {
		db, clock := open(t)
		parent := setup(t, db, DefaultTenant)
		base := total(t, db, DefaultTenant, parent)
		id := mustCreate(t, db, DefaultTenant, parent, 1)
		got, err := e.get(db, DefaultTenant, id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		want := contractView{name: wantName(1)}
		if e.stamped {
			want.createdAt = testNow.UnixMilli()
		}
		if e.touched {
			want.updatedAt = testNow.UnixMilli()
		}
		if got != want {
			t.Errorf("after create: %+v, want %+v", got, want)
		}
		if n := total(t, db, DefaultTenant, parent); n != base+1 {
			t.Errorf("list total %d after create, want %d", n, base+1)
		}
		if e.update != nil {
			clock.ms.Store(contractUpdateAt.UnixMilli())
			if id, err = e.update(db, DefaultTenant, id); err != nil {
				t.Fatalf("update: %v", err)
			}
			if got, err = e.get(db, DefaultTenant, id); err != nil {
				t.Fatalf("get after update: %v", err)
			}
			want.name = e.updated
			if e.touched {
				want.updatedAt = contractUpdateAt.UnixMilli()
			}
			if got != want {
				t.Errorf("after update: %+v, want %+v", got, want)
			}
			if e.clash != nil {
				// The update released the unique value it replaced.
				again := mustCreate(t, db, DefaultTenant, parent, 1)
				if err := e.delete(db, DefaultTenant, again); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := e.delete(db, DefaultTenant, id); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, err := e.get(db, DefaultTenant, id); ErrorCode(err) != ENOTFOUND {
			t.Errorf("get after delete: %v, want %s", err, ENOTFOUND)
		}
		if err := e.delete(db, DefaultTenant, id); ErrorCode(err) != ENOTFOUND {
			t.Errorf("second delete: %v, want %s", err, ENOTFOUND)
		}
		if n := total(t, db, DefaultTenant, parent); n != base {
			t.Errorf("list total %d after delete, want %d", n, base)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		db, _ := open(t)
		parent := setup(t, db, DefaultTenant)
		mustCreate(t, db, DefaultTenant, parent, 0)
		unknown := contractID(parent, "no-such-id")
		if _, err := e.get(db, DefaultTenant, unknown); ErrorCode(err) != ENOTFOUND {
			t.Errorf("get unknown: %v, want %s", err, ENOTFOUND)
		}
		if e.update != nil {
			if _, err := e.update(db, DefaultTenant, unknown); ErrorCode(err) != ENOTFOUND {
				t.Errorf("update unknown: %v, want %s", err, ENOTFOUND)
			}
		}
		if err := e.delete(db, DefaultTenant, unknown); ErrorCode(err) != ENOTFOUND {
			t.Errorf("delete unknown: %v, want %s", err, ENOTFOUND)
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		if e.conflict == nil {
			t.Skip(e.name + " have no unique value")
		}
		db, _ := open(t)
		parent := setup(t, db, DefaultTenant)
		id0 := mustCreate(t, db, DefaultTenant, parent, 0)
		base := total(t, db, DefaultTenant, parent)
		err := e.conflict(db, DefaultTenant, parent, id0)
		var se *Error
		if !errors.As(err, &se) || se.Code != e.conflictCode || se.Detail != e.conflictDetail {
			t.Fatalf("duplicate: %v, want %s (%s)", err, e.conflictCode, e.conflictDetail)
		}
		if n := total(t, db, DefaultTenant, parent); n != base {
			t.Errorf("list total %d after the refused duplicate, want %d", n, base)
		}
		if e.clash != nil {
			id1 := mustCreate(t, db, DefaultTenant, parent, 1)
			err := e.clash(db, DefaultTenant, id0, id1)
			if !errors.As(err, &se) || se.Code != e.conflictCode || se.Detail != e.conflictDetail {
				t.Errorf("update to a taken value: %v, want %s (%s)", err, e.conflictCode, e.conflictDetail)
			}
			if got, err := e.get(db, DefaultTenant, id1); err != nil || got.name != wantName(1) {
				t.Errorf("item 1 after the refused update: %+v, %v", got, err)
			}
		}
		// The value is free again once its holder is gone.
		if err := e.delete(db, DefaultTenant, id0); err != nil {
			t.Fatal(err)
		}
		if err := e.conflict(db, DefaultTenant, parent, id0); err != nil {
			t.Errorf("value not released by delete: %v", err)
		}
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		if e.global {
			t.Skip(e.name + " are not per tenant")
		}
		db, _ := open(t)
		parent := setup(t, db, DefaultTenant)
		otherParent := setup(t, db, "other")
		otherBase := total(t, db, "other", otherParent)
		id := mustCreate(t, db, DefaultTenant, parent, 0)
		if _, err := e.get(db, "other", id); ErrorCode(err) != ENOTFOUND {
			t.Errorf("get in other: %v, want %s", err, ENOTFOUND)
		}
		if n := total(t, db, "other", otherParent); n != otherBase {
			t.Errorf("other lists %d, want %d", n, otherBase)
		}
		if e.update != nil {
			if _, err := e.update(db, "other", id); ErrorCode(err) != ENOTFOUND {
				t.Errorf("update in other: %v, want %s", err, ENOTFOUND)
			}
		}
		if err := e.delete(db, "other", id); ErrorCode(err) != ENOTFOUND {
			t.Errorf("delete in other: %v, want %s", err, ENOTFOUND)
		}
		// Unique values are unique per tenant.
		if _, err := e.create(db, "other", otherParent, 0); err != nil {
			t.Errorf("item 0 of default cannot be made in other: %v", err)
		}
		if got, err := e.get(db, DefaultTenant, id); err != nil || got.name != wantName(0) {
			t.Errorf("default's item after other's calls: %+v, %v", got, err)
		}
		if _, err := e.get(db, "no-such-tenant", id); ErrorCode(err) != ENOTFOUND {
			t.Errorf("get in unknown tenant: %v, want %s", err, ENOTFOUND)
		}
		if _, err := e.create(db, "no-such-tenant", parent, 1); ErrorCode(err) != ENOTFOUND {
			t.Errorf("create in unknown tenant: %v, want %s", err, ENOTFOUND)
		}
		if _, _, err := e.list(db, "no-such-tenant", parent, contractPageAll); ErrorCode(err) != ENOTFOUND {
			t.Errorf("list in unknown tenant: %v, want %s", err, ENOTFOUND)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		const items = 7
		db, clock := open(t)
		parent := setup(t, db, DefaultTenant)
		base := total(t, db, DefaultTenant, parent)
		var made []string
		for i := range items {
			clock.ms.Add(1)
			made = append(made, mustCreate(t, db, DefaultTenant, parent, i))
		}
		list := func(p pagination.Params) ([]string, int, error) { return e.list(db, DefaultTenant, parent, p) }
		checkContractPages(t, list, made, base, !e.unpaged)
		all, _, err := list(contractPageAll)
		if err != nil {
			t.Fatal(err)
		}
		var listed []string // made, in list order
		for _, id := range all {
			if slices.Contains(made, id) {
				listed = append(listed, id)
			}
		}
		want := slices.Clone(made)
		switch e.order {
		case orderNewestFirst:
			slices.Reverse(want)
		case orderByID:
			slices.Sort(want)
		}
		if !slices.Equal(listed, want) {
			t.Errorf("list order %v, want %v (order %d)", listed, want, e.order)
		}
		// Deleting from the middle leaves no gap in the pages and lowers
		// the total.
		if err := e.delete(db, DefaultTenant, made[3]); err != nil {
			t.Fatal(err)
		}
		made = slices.Delete(made, 3, 4)
		checkContractPages(t, list, made, base, !e.unpaged)
	})
}

// checkContractPages checks a list that holds base items and then made: the list of
// all has every one of made and base+len(made) ids, each with that total;
// and, when paged, the first, middle, last and beyond-last pages of 3 are
// the matching slices of the list of all, each with the same total.
func checkContractPages(t *testing.T, list func(pagination.Params) ([]string, int, error), made []string, base int, paged bool) {
	t.Helper()
	const size = 3
	all, n, err := list(contractPageAll)
	if err != nil {
		t.Fatal(err)
	}
	if n != base+len(made) || len(all) != n {
		t.Fatalf("list of all: %d ids, total %d, want %d", len(all), n, base+len(made))
	}
	for _, id := range made {
		if !slices.Contains(all, id) {
			t.Errorf("list of all lacks %s", id)
		}
	}
	if !paged {
		return
	}
	last := pagination.LastPage(n, size)
	for _, tc := range []struct {
		name string
		page int
	}{{"first", 1}, {"middle", 2}, {"last", last}, {"beyond last", last + 1}} {
		p := pagination.Params{Page: tc.page, PageSize: size}
		got, total, err := list(p)
		if err != nil {
			t.Fatalf("%s page: %v", tc.name, err)
		}
		want := all[min(p.Offset(), n):min(p.Offset()+size, n)]
		if total != n || !slices.Equal(got, want) {
			t.Errorf("%s page %d: %v total %d, want %v total %d", tc.name, tc.page, got, total, want, n)
		}
	}
}

// contractEntities is the suite's table: one row per entity.
func contractEntities() []entityContract {
	ctx := context.Background()
	return []entityContract{
		{
			name: "users", order: orderNewestFirst, stamped: true, touched: true,
			create: func(db *DB, tenant, _ string, i int) (string, error) {
				u, err := db.CreateUser(ctx, tenant, UserCreate{Username: ptr(contractName(i))})
				return contractIDOf(u, err, func(u *User) string { return u.ID })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				u, err := db.FindUserByID(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{contractDeref(u.Username), u.CreatedAt, u.UpdatedAt}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.UpdateUser(ctx, tenant, id, UserUpdate{Username: Field[string]{Set: true, Value: ptr("renamed")}})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, tenant, id string) error { return db.DeleteUser(ctx, tenant, id) },
			list: func(db *DB, tenant, _ string, p pagination.Params) ([]string, int, error) {
				us, n, err := db.FindUsers(ctx, tenant, UserFilter{}, p)
				return contractIDs(us, func(u *User) string { return u.ID }), n, err
			},
			conflict: func(db *DB, tenant, _, _ string) error {
				_, err := db.CreateUser(ctx, tenant, UserCreate{Username: ptr(contractName(0))})
				return err
			},
			conflictCode: ECONFLICT, conflictDetail: "user.username_already_in_use",
			clash: func(db *DB, tenant, _, id1 string) error {
				_, err := db.UpdateUser(ctx, tenant, id1, UserUpdate{Username: Field[string]{Set: true, Value: ptr(contractName(0))}})
				return err
			},
		},
		{
			name: "applications", order: orderNewestFirst, stamped: true,
			create: func(db *DB, tenant, _ string, i int) (string, error) {
				a, _, err := db.CreateApplication(ctx, tenant, ApplicationCreate{Name: contractName(i), Type: AppMachineToMachine})
				return contractIDOf(a, err, func(a *Application) string { return a.ID })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				a, err := db.FindApplicationByID(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{name: a.Name, createdAt: a.CreatedAt}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.UpdateApplication(ctx, tenant, id, ApplicationUpdate{Name: ptr("renamed")})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, tenant, id string) error { return db.DeleteApplication(ctx, tenant, id) },
			list: func(db *DB, tenant, _ string, p pagination.Params) ([]string, int, error) {
				as, n, err := db.FindApplications(ctx, tenant, ApplicationFilter{}, p)
				return contractIDs(as, func(a *Application) string { return a.ID }), n, err
			},
		},
		{
			name: "application secrets", order: orderOldestFirst, stamped: true, unpaged: true,
			setup: func(t *testing.T, db *DB, tenant string) string {
				a, _, err := db.CreateApplication(ctx, tenant, ApplicationCreate{Name: "holder", Type: AppMachineToMachine})
				if err != nil {
					t.Fatal(err)
				}
				return a.ID
			},
			create: func(db *DB, tenant, app string, i int) (string, error) {
				s, _, err := db.CreateApplicationSecret(ctx, tenant, app, contractName(i), nil)
				return contractIDOf(s, err, func(s *AppSecret) string { return contractID(app, s.Name) })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				app, name := splitContractID(id)
				ss, err := db.FindApplicationSecrets(ctx, tenant, app)
				if err != nil {
					return contractView{}, err
				}
				for _, s := range ss {
					if s.Name == name {
						return contractView{name: s.Name, createdAt: s.CreatedAt}, nil
					}
				}
				return contractNotFound(id)
			},
			update: func(db *DB, tenant, id string) (string, error) {
				app, name := splitContractID(id)
				_, err := db.RenameApplicationSecret(ctx, tenant, app, name, "renamed")
				return contractID(app, "renamed"), err
			},
			updated: "renamed",
			delete: func(db *DB, tenant, id string) error {
				app, name := splitContractID(id)
				return db.DeleteApplicationSecret(ctx, tenant, app, name)
			},
			list: func(db *DB, tenant, app string, _ pagination.Params) ([]string, int, error) {
				ss, err := db.FindApplicationSecrets(ctx, tenant, app)
				out := make([]string, len(ss))
				for i, s := range ss {
					out[i] = contractID(app, s.Name)
				}
				return out, len(out), err
			},
			conflict: func(db *DB, tenant, app, _ string) error {
				_, _, err := db.CreateApplicationSecret(ctx, tenant, app, contractName(0), nil)
				return err
			},
			conflictCode: ECONFLICT, conflictDetail: "application.secret_name_exists",
			clash: func(db *DB, tenant, _, id1 string) error {
				app, name := splitContractID(id1)
				_, err := db.RenameApplicationSecret(ctx, tenant, app, name, contractName(0))
				return err
			},
		},
		{
			name: "resources", order: orderOldestFirst, stamped: true,
			create: func(db *DB, tenant, _ string, i int) (string, error) {
				r, err := db.CreateResource(ctx, tenant, ResourceCreate{Name: contractName(i), Indicator: contractIndicator(i)})
				return contractIDOf(r, err, func(r *Resource) string { return r.ID })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				r, err := db.FindResourceByID(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{name: r.Name, createdAt: r.CreatedAt}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.UpdateResource(ctx, tenant, id, ResourceUpdate{Name: ptr("renamed")})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, tenant, id string) error { return db.DeleteResource(ctx, tenant, id) },
			list: func(db *DB, tenant, _ string, p pagination.Params) ([]string, int, error) {
				rs, n, err := db.FindResources(ctx, tenant, p, false, nil)
				out := make([]string, len(rs))
				for i, r := range rs {
					out[i] = r.ID
				}
				return out, n, err
			},
			conflict: func(db *DB, tenant, _, _ string) error {
				_, err := db.CreateResource(ctx, tenant, ResourceCreate{Name: "other name", Indicator: contractIndicator(0)})
				return err
			},
			conflictCode: ECONFLICT, conflictDetail: "resource.resource_identifier_in_use",
		},
		{
			name: "scopes", order: orderOldestFirst, stamped: true,
			setup: func(t *testing.T, db *DB, tenant string) string {
				r, err := db.CreateResource(ctx, tenant, ResourceCreate{Name: "holder", Indicator: "https://holder.example"})
				if err != nil {
					t.Fatal(err)
				}
				return r.ID
			},
			create: func(db *DB, tenant, res string, i int) (string, error) {
				s, err := db.CreateScope(ctx, tenant, res, contractName(i), nil)
				return contractIDOf(s, err, func(s *Scope) string { return contractID(res, s.ID) })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				res, scope := splitContractID(id)
				ss, _, err := db.FindResourceScopes(ctx, tenant, res, search.Query{}, contractPageAll)
				if err != nil {
					return contractView{}, err
				}
				for _, s := range ss {
					if s.ID == scope {
						if s.ResourceID != res {
							return contractView{}, fmt.Errorf("scope %s names resource %s, want %s", s.ID, s.ResourceID, res)
						}
						return contractView{name: s.Name, createdAt: s.CreatedAt}, nil
					}
				}
				return contractNotFound(id)
			},
			update: func(db *DB, tenant, id string) (string, error) {
				res, scope := splitContractID(id)
				_, err := db.UpdateScope(ctx, tenant, res, scope, ptr("renamed"), Field[string]{})
				return id, err
			},
			updated: "renamed",
			delete: func(db *DB, tenant, id string) error {
				res, scope := splitContractID(id)
				return db.DeleteScope(ctx, tenant, res, scope)
			},
			list: func(db *DB, tenant, res string, p pagination.Params) ([]string, int, error) {
				ss, n, err := db.FindResourceScopes(ctx, tenant, res, search.Query{}, p)
				return contractIDs(ss, func(s *Scope) string { return contractID(res, s.ID) }), n, err
			},
			conflict: func(db *DB, tenant, res, _ string) error {
				_, err := db.CreateScope(ctx, tenant, res, contractName(0), nil)
				return err
			},
			conflictCode: ECONFLICT, conflictDetail: "scope.name_exists",
			clash: func(db *DB, tenant, _, id1 string) error {
				res, scope := splitContractID(id1)
				_, err := db.UpdateScope(ctx, tenant, res, scope, ptr(contractName(0)), Field[string]{})
				return err
			},
		},
		{
			name: "roles", order: orderNewestFirst, stamped: true,
			create: func(db *DB, tenant, _ string, i int) (string, error) {
				r, err := db.CreateRole(ctx, tenant, RoleCreate{Name: contractName(i), Description: "d"})
				return contractIDOf(r, err, func(r *Role) string { return r.ID })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				r, err := db.FindRoleByID(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{name: r.Name, createdAt: r.CreatedAt}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.UpdateRole(ctx, tenant, id, RoleUpdate{Name: ptr("renamed")})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, tenant, id string) error { return db.DeleteRole(ctx, tenant, id) },
			list: func(db *DB, tenant, _ string, p pagination.Params) ([]string, int, error) {
				rs, n, err := db.FindRoles(ctx, tenant, RoleFilter{}, p)
				return contractIDs(rs, func(r *RoleWithCounts) string { return r.ID }), n, err
			},
			conflict: func(db *DB, tenant, _, _ string) error {
				_, err := db.CreateRole(ctx, tenant, RoleCreate{Name: contractName(0), Description: "d"})
				return err
			},
			conflictCode: ECONFLICT, conflictDetail: "role.name_in_use",
			clash: func(db *DB, tenant, _, id1 string) error {
				_, err := db.UpdateRole(ctx, tenant, id1, RoleUpdate{Name: ptr(contractName(0))})
				return err
			},
		},
		{
			name: "organizations", order: orderByID, stamped: true,
			create: func(db *DB, tenant, _ string, i int) (string, error) {
				o, err := db.CreateOrganization(ctx, tenant, OrganizationCreate{Name: contractName(i)})
				return contractIDOf(o, err, func(o *Organization) string { return o.ID })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				o, err := db.FindOrganizationByID(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{name: o.Name, createdAt: o.CreatedAt}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.UpdateOrganization(ctx, tenant, id, OrganizationUpdate{Name: ptr("renamed")})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, tenant, id string) error { return db.DeleteOrganization(ctx, tenant, id) },
			list: func(db *DB, tenant, _ string, p pagination.Params) ([]string, int, error) {
				os, n, err := db.FindOrganizations(ctx, tenant, OrganizationFilter{}, p)
				return contractIDs(os, func(o *OrganizationWithFeatured) string { return o.ID }), n, err
			},
		},
		{
			name: "organization roles", order: orderOldestFirst,
			create: func(db *DB, tenant, _ string, i int) (string, error) {
				r, err := db.CreateOrganizationRole(ctx, tenant, OrganizationRoleCreate{Name: contractName(i)})
				return contractIDOf(r, err, func(r *OrganizationRole) string { return r.ID })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				r, err := db.FindOrganizationRoleByID(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{name: r.Name}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.UpdateOrganizationRole(ctx, tenant, id, OrganizationRoleUpdate{Name: ptr("renamed")})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, tenant, id string) error { return db.DeleteOrganizationRole(ctx, tenant, id) },
			list: func(db *DB, tenant, _ string, p pagination.Params) ([]string, int, error) {
				rs, n, err := db.FindOrganizationRoles(ctx, tenant, "", p)
				return contractIDs(rs, func(r *OrganizationRoleWithScopes) string { return r.ID }), n, err
			},
			conflict: func(db *DB, tenant, _, _ string) error {
				_, err := db.CreateOrganizationRole(ctx, tenant, OrganizationRoleCreate{Name: contractName(0)})
				return err
			},
			conflictCode: EUNPROCESSABLE, conflictDetail: "entity.unique_integrity_violation",
			clash: func(db *DB, tenant, _, id1 string) error {
				_, err := db.UpdateOrganizationRole(ctx, tenant, id1, OrganizationRoleUpdate{Name: ptr(contractName(0))})
				return err
			},
		},
		{
			name: "organization scopes", order: orderOldestFirst,
			create: func(db *DB, tenant, _ string, i int) (string, error) {
				s, err := db.CreateOrganizationScope(ctx, tenant, contractName(i), nil)
				return contractIDOf(s, err, func(s *OrganizationScope) string { return s.ID })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				s, err := db.FindOrganizationScopeByID(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{name: s.Name}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.UpdateOrganizationScope(ctx, tenant, id, ptr("renamed"), Field[string]{})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, tenant, id string) error { return db.DeleteOrganizationScope(ctx, tenant, id) },
			list: func(db *DB, tenant, _ string, p pagination.Params) ([]string, int, error) {
				ss, n, err := db.FindOrganizationScopes(ctx, tenant, "", p)
				return contractIDs(ss, func(s *OrganizationScope) string { return s.ID }), n, err
			},
			conflict: func(db *DB, tenant, _, _ string) error {
				_, err := db.CreateOrganizationScope(ctx, tenant, contractName(0), nil)
				return err
			},
			conflictCode: EUNPROCESSABLE, conflictDetail: "entity.unique_integrity_violation",
			clash: func(db *DB, tenant, _, id1 string) error {
				_, err := db.UpdateOrganizationScope(ctx, tenant, id1, ptr(contractName(0)), Field[string]{})
				return err
			},
		},
		{
			name: "organization invitations", order: orderNewestFirst, stamped: true, touched: true, unpaged: true,
			setup: func(t *testing.T, db *DB, tenant string) string {
				o, err := db.CreateOrganization(ctx, tenant, OrganizationCreate{Name: "holder"})
				if err != nil {
					t.Fatal(err)
				}
				return o.ID
			},
			create: func(db *DB, tenant, org string, i int) (string, error) {
				inv, _, err := db.CreateInvitation(ctx, tenant, InvitationCreate{Invitee: contractEmail(i), OrganizationID: org,
					ExpiresAt: testNow.Add(time.Hour).UnixMilli()})
				return contractIDOf(inv, err, func(inv *Invitation) string { return inv.ID })
			},
			created: contractEmail,
			get: func(db *DB, tenant, id string) (contractView, error) {
				inv, err := db.FindInvitationByID(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				if inv.Status != InvitationPending {
					return contractView{name: inv.Status, createdAt: inv.CreatedAt, updatedAt: inv.UpdatedAt}, nil
				}
				return contractView{name: inv.Invitee, createdAt: inv.CreatedAt, updatedAt: inv.UpdatedAt}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.SetInvitationStatus(ctx, tenant, id, InvitationRevoked, nil)
				return id, err
			},
			updated: InvitationRevoked,
			delete:  func(db *DB, tenant, id string) error { return db.DeleteInvitation(ctx, tenant, id) },
			list: func(db *DB, tenant, org string, _ pagination.Params) ([]string, int, error) {
				is, err := db.FindInvitations(ctx, tenant, InvitationFilter{OrganizationID: org})
				return contractIDs(is, func(i *Invitation) string { return i.ID }), len(is), err
			},
			conflict: func(db *DB, tenant, org, _ string) error {
				_, _, err := db.CreateInvitation(ctx, tenant, InvitationCreate{Invitee: contractEmail(0), OrganizationID: org,
					ExpiresAt: testNow.Add(time.Hour).UnixMilli()})
				return err
			},
			conflictCode: EUNPROCESSABLE, conflictDetail: "entity.unique_integrity_violation",
		},
		{
			name: "API clients", order: orderNewestFirst, stamped: true, touched: true,
			create: func(db *DB, tenant, _ string, i int) (string, error) {
				c, _, err := db.CreateAPIClient(ctx, tenant, APIClientCreate{ClientID: contractClientID(i), FirstName: contractName(i), LastName: "l"})
				return contractIDOf(c, err, func(c *APIClient) string { return c.ClientID })
			},
			get: func(db *DB, tenant, id string) (contractView, error) {
				c, err := db.FindAPIClient(ctx, tenant, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{c.FirstName, c.CreatedAt, c.UpdatedAt}, nil
			},
			update: func(db *DB, tenant, id string) (string, error) {
				_, err := db.UpdateAPIClient(ctx, tenant, id, APIClientUpdate{FirstName: ptr("renamed")})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, tenant, id string) error { return db.DeleteAPIClient(ctx, tenant, id) },
			list: func(db *DB, tenant, _ string, p pagination.Params) ([]string, int, error) {
				cs, n, err := db.FindAPIClients(ctx, tenant, search.Query{}, p)
				return contractIDs(cs, func(c *APIClient) string { return c.ClientID }), n, err
			},
			conflict: func(db *DB, tenant, _, _ string) error {
				_, _, err := db.CreateAPIClient(ctx, tenant, APIClientCreate{ClientID: contractClientID(0), FirstName: "f", LastName: "l"})
				return err
			},
			conflictCode: EUNPROCESSABLE, conflictDetail: "api_client.client_id_in_use",
		},
		{
			name: "service user keys", order: orderOldestFirst, stamped: true, unpaged: true,
			setup: func(t *testing.T, db *DB, tenant string) string {
				c, _, err := db.CreateAPIClient(ctx, tenant, APIClientCreate{ClientID: "key-holder", FirstName: "f", LastName: "l"})
				if err != nil {
					t.Fatal(err)
				}
				return c.UserID
			},
			create: func(db *DB, tenant, user string, i int) (string, error) {
				k, _, err := db.CreateServiceKey(ctx, tenant, user, ServiceKeyCreate{Algorithm: "ES256"})
				return contractIDOf(k, err, func(k *ServiceKey) string { return contractID(user, k.ID) })
			},
			created: func(int) string { return "ES256" },
			get: func(db *DB, tenant, id string) (contractView, error) {
				user, key := splitContractID(id)
				ks, err := db.FindServiceKeys(ctx, tenant, user)
				if err != nil {
					return contractView{}, err
				}
				for _, k := range ks {
					if k.ID == key {
						return contractView{name: k.Algorithm, createdAt: k.CreatedAt}, nil
					}
				}
				return contractNotFound(id)
			},
			delete: func(db *DB, tenant, id string) error {
				user, key := splitContractID(id)
				return db.DeleteServiceKey(ctx, tenant, user, key)
			},
			list: func(db *DB, tenant, user string, _ pagination.Params) ([]string, int, error) {
				ks, err := db.FindServiceKeys(ctx, tenant, user)
				return contractIDs(ks, func(k *ServiceKey) string { return contractID(user, k.ID) }), len(ks), err
			},
		},
		managerContract("tenant managers", "", ManagerIAMOwnerViewer, ManagerIAMOwner),
		managerContract("organization managers", "organization", ManagerOrgOwnerViewer, ManagerOrgOwner),
		managerContract("resource managers", "resource", ManagerProjectOwnerViewer, ManagerProjectOwner),
		// A grant has one role: the update sets it again.
		managerContract("resource grant managers", "grant", ManagerProjectGrantOwner, ManagerProjectGrantOwner),
		{
			name: "tenants", order: orderOldestFirst, global: true, stamped: true,
			create: func(db *DB, _, _ string, i int) (string, error) {
				tn, _, err := db.CreateTenant(ctx, NewTenant{ID: contractTenantID(i), Name: contractName(i), SigningKey: contractSigningKey})
				return contractIDOf(tn, err, func(tn *Tenant) string { return tn.ID })
			},
			get: func(db *DB, _, id string) (contractView, error) {
				tn, err := db.FindTenantByID(ctx, id)
				if err != nil {
					return contractView{}, err
				}
				return contractView{name: tn.Name, createdAt: tn.CreatedAt}, nil
			},
			update: func(db *DB, _, id string) (string, error) {
				_, err := db.UpdateTenant(ctx, id, TenantUpdate{Name: ptr("renamed")})
				return id, err
			},
			updated: "renamed",
			delete:  func(db *DB, _, id string) error { return db.DeleteTenant(ctx, id) },
			list: func(db *DB, _, _ string, p pagination.Params) ([]string, int, error) {
				ts, n, err := db.FindTenants(ctx, p)
				return contractIDs(ts, func(tn *Tenant) string { return tn.ID }), n, err
			},
			conflict: func(db *DB, _, _, _ string) error {
				_, _, err := db.CreateTenant(ctx, NewTenant{ID: contractTenantID(0), SigningKey: contractSigningKey})
				return err
			},
			conflictCode: ECONFLICT, conflictDetail: "tenant.id_already_in_use",
		},
		{
			name: "instance administrators", order: orderByID, global: true, stamped: true,
			// The last administrator cannot go, so one stays throughout.
			setup: func(t *testing.T, db *DB, _ string) string {
				if _, err := contractSystemAdmin(db, "keeper"); err != nil {
					t.Fatal(err)
				}
				return ""
			},
			create: func(db *DB, _, _ string, i int) (string, error) {
				return contractSystemAdmin(db, contractName(i))
			},
			get: func(db *DB, _, id string) (contractView, error) {
				as, _, err := db.FindSystemAdmins(ctx, contractPageAll)
				if err != nil {
					return contractView{}, err
				}
				for _, a := range as {
					if a.ApplicationID == id {
						return contractView{name: a.Name, createdAt: a.CreatedAt}, nil
					}
				}
				return contractNotFound(id)
			},
			delete: func(db *DB, _, id string) error { return db.RemoveSystemAdmin(ctx, id) },
			list: func(db *DB, _, _ string, p pagination.Params) ([]string, int, error) {
				as, n, err := db.FindSystemAdmins(ctx, p)
				return contractIDs(as, func(a *SystemAdmin) string { return a.ApplicationID }), n, err
			},
			conflict: func(db *DB, _, _, id0 string) error {
				_, err := db.AddSystemAdmin(ctx, id0)
				return err
			},
			conflictCode: EUNPROCESSABLE, conflictDetail: "system.admin_already_exists",
		},
	}
}

// managerContract is the row of managers at one level: the tenant (level
// ""), an organization, a resource or a resource grant (the resource within
// the organization, parent "org:resource"), which setup makes. Item i is a
// new user with role viewer; the update makes it owner.
func managerContract(name, level, viewer, owner string) entityContract {
	ctx := context.Background()
	scopeOf := func(parent string) ManagerScope {
		switch level {
		case "organization":
			return ManagerScope{OrganizationID: parent}
		case "resource":
			return ManagerScope{ResourceID: parent}
		case "grant":
			org, res, _ := strings.Cut(parent, ":")
			return ManagerScope{OrganizationID: org, ResourceID: res}
		}
		return ManagerScope{}
	}
	return entityContract{
		name: name, order: orderByID, stamped: true, touched: true,
		setup: func(t *testing.T, db *DB, tenant string) string {
			var id string
			var err error
			switch level {
			case "organization":
				var o *Organization
				o, err = db.CreateOrganization(ctx, tenant, OrganizationCreate{Name: "holder"})
				id = contractIDOrEmpty(o, func(o *Organization) string { return o.ID })
			case "resource":
				var r *Resource
				r, err = db.CreateResource(ctx, tenant, ResourceCreate{Name: "holder", Indicator: "https://holder.example"})
				id = contractIDOrEmpty(r, func(r *Resource) string { return r.ID })
			case "grant":
				var o *Organization
				var r *Resource
				if o, err = db.CreateOrganization(ctx, tenant, OrganizationCreate{Name: "holder"}); err == nil {
					r, err = db.CreateResource(ctx, tenant, ResourceCreate{Name: "holder", Indicator: "https://holder.example"})
				}
				if err == nil {
					id = o.ID + ":" + r.ID
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			return id
		},
		create: func(db *DB, tenant, parent string, i int) (string, error) {
			u, err := db.CreateUser(ctx, tenant, UserCreate{Username: ptr(contractName(i))})
			if err != nil {
				return "", err
			}
			m, created, err := db.SetManager(ctx, tenant, scopeOf(parent), u.ID, []string{viewer})
			if err == nil && (!created || m.UserID != u.ID) {
				err = fmt.Errorf("SetManager of a new manager: created %v, user %s", created, m.UserID)
			}
			return contractID(parent, u.ID), err
		},
		created: func(int) string { return viewer },
		get: func(db *DB, tenant, id string) (contractView, error) {
			parent, user := splitContractID(id)
			ms, err := db.FindUserManagerRoles(ctx, tenant, user)
			if err != nil {
				return contractView{}, err
			}
			for _, m := range ms {
				if (ManagerScope{OrganizationID: m.OrganizationID, ResourceID: m.ResourceID}) == scopeOf(parent) {
					return contractView{strings.Join(m.Roles, ","), m.CreatedAt, m.UpdatedAt}, nil
				}
			}
			return contractNotFound(id)
		},
		update: func(db *DB, tenant, id string) (string, error) {
			parent, user := splitContractID(id)
			_, created, err := db.SetManager(ctx, tenant, scopeOf(parent), user, []string{owner})
			if err == nil && created {
				err = fmt.Errorf("SetManager of a manager says created")
			}
			return id, err
		},
		updated: owner,
		delete: func(db *DB, tenant, id string) error {
			parent, user := splitContractID(id)
			return db.RemoveManager(ctx, tenant, scopeOf(parent), user)
		},
		list: func(db *DB, tenant, parent string, p pagination.Params) ([]string, int, error) {
			ms, n, err := db.FindManagers(ctx, tenant, scopeOf(parent), p)
			return contractIDs(ms, func(m *Manager) string { return contractID(parent, m.UserID) }), n, err
		},
	}
}

// contractSigningKey is the (unused) signing key of the suite's tenants.
var contractSigningKey = SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}

func contractIndicator(i int) string { return fmt.Sprintf("https://api-%d.example", i) }
func contractEmail(i int) string     { return fmt.Sprintf("item-%d@example.com", i) }
func contractClientID(i int) string  { return fmt.Sprintf("client-%d", i) }
func contractTenantID(i int) string  { return fmt.Sprintf("tenant-%d", i) }

// contractSystemAdmin makes a machine-to-machine application of tenant
// default called name an instance administrator and returns its id.
func contractSystemAdmin(db *DB, name string) (string, error) {
	ctx := context.Background()
	app, _, err := db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: name, Type: AppMachineToMachine})
	if err != nil {
		return "", err
	}
	a, err := db.AddSystemAdmin(ctx, app.ID)
	if err == nil && (a.ApplicationID != app.ID || a.Name != name) {
		err = fmt.Errorf("AddSystemAdmin returned %+v for application %s %q", a, app.ID, name)
	}
	return app.ID, err
}

// contractIDOf returns the id of v, or err when the call that made v failed.
func contractIDOf[T any](v *T, err error, id func(*T) string) (string, error) {
	if err != nil {
		return "", err
	}
	return id(v), nil
}

// contractIDOrEmpty returns the id of v, or "" when v is nil.
func contractIDOrEmpty[T any](v *T, id func(*T) string) string {
	if v == nil {
		return ""
	}
	return id(v)
}

// contractIDs maps a list of entities to their ids.
func contractIDs[T any](vs []T, id func(T) string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = id(v)
	}
	return out
}

// contractDeref returns *p, or "" for nil.
func contractDeref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
