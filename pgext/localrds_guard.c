/*
 * localrds_guard: keeps the master user (and every role it creates) inside the database, as
 * Amazon RDS does. Loaded into every server localrds runs (shared_preload_libraries).
 *
 * PostgreSQL 15 lets a role with CREATEROLE grant itself any role that is not a superuser,
 * including pg_execute_server_program, pg_read_server_files and pg_write_server_files: then
 * COPY ... TO PROGRAM runs shell commands as the servers' OS user, and pg_read_file reads any
 * file it can. RDS gives its master user CREATEROLE but not those roles. Vanilla PostgreSQL
 * already refuses the rest to non-superusers (SUPERUSER, REPLICATION, BYPASSRLS, ALTER SYSTEM,
 * untrusted languages and extensions, LOAD outside $libdir/plugins, SET ROLE to roles one is not
 * a member of); this hook closes what it does not, for every role that is not a superuser:
 *  - GRANT / CREATE ROLE ... IN ROLE / ALTER GROUP ... ADD USER of a role that has the
 *    privileges of one of the three roles above, or of rdsadmin / rdsrepladmin;
 *  - COPY to or from a program or a server file, whatever the role's memberships (a membership
 *    granted before this guard was loaded gives nothing);
 *  - ALTER, RENAME or DROP of rdsadmin (localrds' superuser) and rdsrepladmin (the role its
 *    standbys replicate as).
 * Superusers (localrds itself) are never checked.
 *
 * It also makes a DB instance's storage fill as on RDS: while localrds.storage_full is on (a
 * PGC_SIGHUP setting localrds writes into the server's configuration when the instance's data
 * outgrows its AllocatedStorage, then reloads), every statement of a role that is not a
 * superuser that would write refuses with PostgreSQL's own disk-full error (SQLSTATE 53100,
 * "could not extend file ...: No space left on device"): INSERT, UPDATE, DELETE, MERGE, a query
 * with a data-modifying WITH, and every utility statement but those that only read or manage the
 * session (BEGIN/COMMIT/ROLLBACK, SET/SHOW/RESET, DISCARD, PREPARE/EXECUTE/DEALLOCATE, EXPLAIN,
 * cursors, COPY TO, LISTEN/NOTIFY, LOCK, DO and CALL, whose statements are checked one by one).
 * DROP and TRUNCATE are refused too: on a full disk they need WAL that cannot be written.
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "commands/copy.h"
#include "common/relpath.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/relcache.h"

PG_MODULE_MAGIC;

void _PG_init(void);

static ProcessUtility_hook_type prev_process_utility = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;

/* localrds.storage_full: the instance's storage is full; writes fail as on a full disk. */
static bool storage_full = false;

static const char *const protected_roles[] = {"rdsadmin", "rdsrepladmin", NULL};

static bool
is_protected_name(const char *name)
{
	for (int i = 0; protected_roles[i] != NULL; i++)
	{
		if (name != NULL && strcmp(name, protected_roles[i]) == 0)
			return true;
	}
	return false;
}

/* True when membership in `name` would give what the master user must not have. */
static bool
is_reserved_role(const char *name)
{
	Oid			roleid;

	if (name == NULL)
		return false;
	if (is_protected_name(name))
		return true;
	roleid = get_role_oid(name, true);
	if (!OidIsValid(roleid))
		return false;
	return has_privs_of_role(roleid, ROLE_PG_EXECUTE_SERVER_PROGRAM) ||
		has_privs_of_role(roleid, ROLE_PG_READ_SERVER_FILES) ||
		has_privs_of_role(roleid, ROLE_PG_WRITE_SERVER_FILES);
}

static void
refuse_grant(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to grant role \"%s\"", name),
			 errdetail("Only rdsadmin can grant membership in role \"%s\"; Amazon RDS does not "
					   "give it to the master user.", name)));
}

static void
refuse_protected(const char *verb, const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s role \"%s\"", verb, name),
			 errdetail("Role \"%s\" is reserved for localrds, as rdsadmin is on Amazon RDS.",
					   name)));
}

static const char *
role_spec_name(RoleSpec *spec)
{
	return spec != NULL && spec->roletype == ROLESPEC_CSTRING ? spec->rolename : NULL;
}

static void
check_grant(GrantRoleStmt *stmt)
{
	ListCell   *lc;

	if (!stmt->is_grant)
		return;
	foreach(lc, stmt->granted_roles)
	{
		AccessPriv *priv = (AccessPriv *) lfirst(lc);

		if (is_reserved_role(priv->priv_name))
			refuse_grant(priv->priv_name);
	}
}

static void
check_create_role(CreateRoleStmt *stmt)
{
	ListCell   *lc;

	if (is_protected_name(stmt->role))
		refuse_protected("create", stmt->role);
	foreach(lc, stmt->options)
	{
		DefElem    *opt = (DefElem *) lfirst(lc);
		ListCell   *r;

		/* CREATE ROLE x IN ROLE / IN GROUP y: x becomes a member of y. */
		if (strcmp(opt->defname, "addroleto") != 0)
			continue;
		foreach(r, (List *) opt->arg)
		{
			const char *name = role_spec_name((RoleSpec *) lfirst(r));

			if (is_reserved_role(name))
				refuse_grant(name);
		}
	}
}

static void
check_alter_role(AlterRoleStmt *stmt)
{
	const char *name = role_spec_name(stmt->role);

	if (is_protected_name(name))
		refuse_protected("alter", name);
	/* ALTER GROUP y ADD USER x */
	if (stmt->action == +1 && is_reserved_role(name))
	{
		ListCell   *lc;

		foreach(lc, stmt->options)
		{
			if (strcmp(((DefElem *) lfirst(lc))->defname, "rolemembers") == 0)
				refuse_grant(name);
		}
	}
}

static void
check_copy(CopyStmt *stmt)
{
	if (stmt->is_program)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be superuser or have privileges of the "
						"pg_execute_server_program role to COPY to or from an external program"),
				 errhint("Anyone can COPY to stdout or from stdin. "
						 "psql's \\copy command also works for anyone.")));
	if (stmt->filename != NULL && stmt->is_from)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be superuser or have privileges of the "
						"pg_read_server_files role to COPY from a file"),
				 errhint("Anyone can COPY to stdout or from stdin. "
						 "psql's \\copy command also works for anyone.")));
	if (stmt->filename != NULL && !stmt->is_from)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be superuser or have privileges of the "
						"pg_write_server_files role to COPY to a file"),
				 errhint("Anyone can COPY to stdout or from stdin. "
						 "psql's \\copy command also works for anyone.")));
}

static void
check_statement(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_GrantRoleStmt:
			check_grant((GrantRoleStmt *) parsetree);
			break;
		case T_CreateRoleStmt:
			check_create_role((CreateRoleStmt *) parsetree);
			break;
		case T_AlterRoleStmt:
			check_alter_role((AlterRoleStmt *) parsetree);
			break;
		case T_AlterRoleSetStmt:
			{
				const char *name = role_spec_name(((AlterRoleSetStmt *) parsetree)->role);

				if (is_protected_name(name))
					refuse_protected("alter", name);
				break;
			}
		case T_DropRoleStmt:
			{
				ListCell   *lc;

				foreach(lc, ((DropRoleStmt *) parsetree)->roles)
				{
					const char *name = role_spec_name((RoleSpec *) lfirst(lc));

					if (is_protected_name(name))
						refuse_protected("drop", name);
				}
				break;
			}
		case T_RenameStmt:
			{
				RenameStmt *stmt = (RenameStmt *) parsetree;

				if (stmt->renameType == OBJECT_ROLE && is_protected_name(stmt->subname))
					refuse_protected("rename", stmt->subname);
				break;
			}
		case T_CopyStmt:
			check_copy((CopyStmt *) parsetree);
			break;
		default:
			break;
	}
}

/* PostgreSQL's own words when a file cannot grow on a full disk (md.c, mdextend). */
static void
refuse_disk_full(const char *file)
{
	ereport(ERROR,
			(errcode(ERRCODE_DISK_FULL),
			 errmsg("could not extend file \"%s\": No space left on device", file),
			 errdetail("The DB instance's storage is full (status storage-full): its data has "
					   "outgrown its AllocatedStorage."),
			 errhint("Check free disk space, or increase the DB instance's AllocatedStorage "
					 "(ModifyDBInstance).")));
}

/* Utility statements that write nothing to the database's files: allowed on a full disk. */
static bool
utility_writes(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_TransactionStmt:
		case T_VariableSetStmt:
		case T_VariableShowStmt:
		case T_DiscardStmt:
		case T_PrepareStmt:
		case T_ExecuteStmt:
		case T_DeallocateStmt:
		case T_ExplainStmt:
		case T_DeclareCursorStmt:
		case T_FetchStmt:
		case T_ClosePortalStmt:
		case T_ListenStmt:
		case T_UnlistenStmt:
		case T_NotifyStmt:
		case T_LockStmt:
		case T_DoStmt:
		case T_CallStmt:
		case T_ConstraintsSetStmt:
			return false;
		case T_CopyStmt:
			return ((CopyStmt *) parsetree)->is_from;
		default:
			return true;
	}
}

/* The file a write by `queryDesc` would extend first: its first result relation's. */
static const char *
result_file(QueryDesc *queryDesc)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;

	if (stmt->resultRelations != NIL)
	{
		Index		rti = (Index) linitial_int(stmt->resultRelations);
		Oid			relid = rt_fetch(rti, stmt->rtable)->relid;
		Relation	rel = OidIsValid(relid) ? RelationIdGetRelation(relid) : NULL;

		if (rel != NULL)
		{
#if PG_VERSION_NUM >= 160000
			char	   *path = relpathbackend(rel->rd_locator, rel->rd_backend, MAIN_FORKNUM);
#else
			char	   *path = relpathbackend(rel->rd_node, rel->rd_backend, MAIN_FORKNUM);
#endif

			RelationClose(rel);
			return path;
		}
	}
	return psprintf("base/%u", MyDatabaseId);
}

static void
guard_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (storage_full && !(eflags & EXEC_FLAG_EXPLAIN_ONLY) && !superuser())
	{
		CmdType		op = queryDesc->operation;

		if (op == CMD_INSERT || op == CMD_UPDATE || op == CMD_DELETE || op == CMD_MERGE ||
			queryDesc->plannedstmt->hasModifyingCTE)
			refuse_disk_full(result_file(queryDesc));
	}
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
guard_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (!superuser())
	{
		check_statement(pstmt->utilityStmt);
		if (storage_full && utility_writes(pstmt->utilityStmt))
			refuse_disk_full(psprintf("base/%u", MyDatabaseId));
	}
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest,
							 qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
}

void
_PG_init(void)
{
	DefineCustomBoolVariable("localrds.storage_full",
							 "The DB instance's storage is full: writes fail as on a full disk.",
							 "Set by localrds when the instance's data outgrows its "
							 "AllocatedStorage; superusers are not affected.",
							 &storage_full, false, PGC_SIGHUP, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("localrds");
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = guard_process_utility;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = guard_executor_start;
}
