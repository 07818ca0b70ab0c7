// localrds console: the RDS pages (Dashboard, Databases, Create database, instance details and
// its Actions, Snapshots, Automated backups, Events, the groups). Loaded after app.js, whose
// window.LocalrdsConsole it uses; every call is an RDS action through /console/api/rds.
"use strict";
(() => {
  const LC = window.LocalrdsConsole;
  const ui = LC._ui;
  const { el, api, apiAll, showError, showNotice, navigate, onTick, statusBadge, fmtTime, openDialog } = LC;
  const { clear, textField, selectField, checkField, radioGroup, keyValueList, dataTable, actionsMenu, pageHeader, btn, loading, tabs, yesNo, dash, engineName, fmtLag, confirmDialog, builtin, state } = ui;

  const INSTANCE_CLASSES = [
    "db.t3.micro", "db.t3.small", "db.t3.medium", "db.t3.large", "db.t4g.micro", "db.t4g.small",
    "db.t4g.medium", "db.m5.large", "db.m5.xlarge", "db.m6g.large", "db.m6i.large", "db.r5.large",
    "db.r6g.large",
  ];

  // ---------------------------------------------------------------- the API's own messages
  // Copied from the service (emulator/core/validation.cc) so the page says what the API would.
  function checkIdentifier(param, v) {
    if (!v) return `The parameter ${param} must be provided and must not be blank.`;
    const ok = v.length <= 63 && /^[A-Za-z][A-Za-z0-9-]*$/.test(v) && !v.endsWith("-") && !v.includes("--");
    return ok ? null : `The parameter ${param} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`;
  }
  function checkSnapshotIdentifier(param, v) {
    if (v && !/^[A-Za-z]/.test(v)) return `Invalid snapshot identifier:  ${v}`;
    if (!v) return `The parameter ${param} must be provided and must not be blank.`;
    const ok = v.length <= 255 && /^[A-Za-z][A-Za-z0-9-]*$/.test(v) && !v.endsWith("-") && !v.includes("--");
    return ok ? null : `The parameter ${param} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`;
  }
  function checkMasterUsername(v) {
    if (!v) return "The parameter MasterUsername must be provided and must not be blank.";
    if (!(v.length <= 63 && /^[A-Za-z][A-Za-z0-9_]*$/.test(v))) {
      return "The parameter MasterUsername is not a valid identifier. It must be 1 to 63 letters, digits or underscores, and begin with a letter.";
    }
    return null;
  }
  function checkPassword(v) {
    if (!v) return "The parameter MasterUserPassword must be provided and must not be blank.";
    if (v.length < 8) return "The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.";
    if (v.length > 128) return "The parameter MasterUserPassword is not a valid password because it is longer than 128 characters.";
    if (!/^[\x21-\x7e]*$/.test(v) || /[/@"]/.test(v)) {
      return "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used.";
    }
    return null;
  }
  function checkDBName(v) {
    if (!(v.length <= 63 && /^[A-Za-z][A-Za-z0-9_]*$/.test(v))) {
      return "The parameter DBName is not a valid identifier. It must contain 1 to 63 letters, digits or underscores and begin with a letter.";
    }
    if (["postgres", "template0", "template1", "rdsadmin"].includes(v.toLowerCase())) {
      return `DBName ${v} cannot be used as it is a reserved word used by the engine`;
    }
    return null;
  }
  function checkRetention(n) {
    if (!Number.isInteger(n) || n < 0 || n > 35) {
      return `Invalid backup retention period: ${Number.isFinite(n) ? n : "?"}. The retention period must be between 0 and 35 days.`;
    }
    return null;
  }
  function checkPort(n) {
    return n < 1150 || n > 65535 ? `Invalid port ${n}. The port must be between 1150 and 65535.` : null;
  }
  function generatePassword() {
    const chars = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!#%^*";
    const bytes = new Uint8Array(20);
    crypto.getRandomValues(bytes);
    return [...bytes].map((b) => chars[b % chars.length]).join("");
  }

  // A field's own error below it and in the banner (the first one).
  function fieldError(input, message) {
    const holder = input.closest(".field") || input.parentNode;
    let box = holder.querySelector(".field-error");
    if (!message) {
      if (box) box.remove();
      input.removeAttribute("aria-invalid");
      return;
    }
    if (!box) {
      box = el("div", { class: "field-error", id: ui.uid("err") });
      holder.appendChild(box);
    }
    box.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", box.id);
  }

  // Replaces holder's content only when what it shows changed, so the 2-second refresh leaves
  // an unchanged table (its focus, hover and any click in progress) alone.
  function swap(holder, data, build) {
    const sig = JSON.stringify(data);
    if (holder.dataset.sig === sig) return false;
    holder.dataset.sig = sig;
    clear(holder).appendChild(build());
    return true;
  }

  // ---------------------------------------------------------------- instances
  async function describeInstances() {
    return apiAll("DescribeDBInstances", {}, "DBInstances");
  }

  function roleOf(db) {
    if (db.ReadReplicaSourceDBInstanceIdentifier) return "Replica";
    if ((db.ReadReplicaDBInstanceIdentifiers || []).length) return "Primary";
    return "Instance";
  }

  // Primaries then their replicas right after them (nested), in identifier order.
  function nestInstances(list) {
    const byId = new Map(list.map((d) => [d.DBInstanceIdentifier, d]));
    const out = [];
    const seen = new Set();
    const sorted = [...list].sort((a, b) => a.DBInstanceIdentifier.localeCompare(b.DBInstanceIdentifier));
    const visit = (d, depth) => {
      if (seen.has(d.DBInstanceIdentifier)) return;
      seen.add(d.DBInstanceIdentifier);
      out.push({ db: d, depth });
      sorted.filter((r) => r.ReadReplicaSourceDBInstanceIdentifier === d.DBInstanceIdentifier).forEach((r) => visit(r, depth + 1));
    };
    sorted.filter((d) => !d.ReadReplicaSourceDBInstanceIdentifier || !byId.has(d.ReadReplicaSourceDBInstanceIdentifier)).forEach((d) => visit(d, 0));
    sorted.forEach((d) => visit(d, 0));
    return out;
  }

  function lagOf(db) {
    if (db.ReplicaLag !== undefined) return db.ReplicaLag;
    return undefined;
  }

  // The Monitoring series of an instance: one sample per tick while its details page is open
  // (its status from DescribeDBInstances, DatabaseConnections and ReplicaLag from
  // /console/api/metrics), kept for 30 minutes across tabs and page changes.
  async function recordSample(db) {
    const key = `${LC.region()}/${db.DBInstanceIdentifier}`;
    let m = {};
    try {
      m = await LC.get("metrics", { DBInstanceIdentifier: db.DBInstanceIdentifier });
    } catch (e) {
      m = {};
    }
    const num = (v) => (v === undefined || v === null || Number(v) < 0 ? null : Number(v));
    const list = state.samples.get(key) || [];
    const lag = m.ReplicaLag !== undefined ? m.ReplicaLag : lagOf(db);
    list.push({ t: Date.now(), lag: num(lag), conns: num(m.DatabaseConnections), status: db.DBInstanceStatus });
    while (list.length > 900) list.shift(); // 30 minutes at one sample per 2 s
    state.samples.set(key, list);
    return m;
  }

  // ---------------------------------------------------------------- instance actions
  function instanceActions(db, after) {
    const s = db ? db.DBInstanceStatus : "";
    const none = !db;
    const replica = db && !!db.ReadReplicaSourceDBInstanceIdentifier;
    const avail = s === "available";
    const run = (fn) => () => fn(db, after || (() => {}));
    return [
      { label: "Take snapshot", disabled: none || !["available", "backing-up", "stopped"].includes(s), run: run(takeSnapshotDialog) },
      { label: "Restore to point in time", disabled: none, run: run(restorePitrDialog) },
      { label: "Create read replica", disabled: none || !avail, run: run(createReplicaDialog) },
      { label: "Promote", disabled: none || !replica || !avail, why: "Only an available read replica can be promoted", run: run(promoteDialog) },
      { separator: true },
      { label: "Reboot", disabled: none || !avail, run: run(rebootDialog) },
      { label: "Stop temporarily", disabled: none || !avail, run: run(stopDialog) },
      { label: "Start", disabled: none || s !== "stopped", run: run(startDialog) },
      { separator: true },
      { label: "Modify", disabled: none || !["available", "stopped"].includes(s), run: run(modifyDialog) },
      { label: "Delete", disabled: none || s === "deleting", run: run(deleteDialog) },
    ];
  }

  function takeSnapshotDialog(db, after) {
    const name = textField("Snapshot name", { value: `${db.DBInstanceIdentifier}-snapshot-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, "")}`, hint: "The identifier for the DB snapshot." });
    openDialog({
      title: "Take DB snapshot",
      body: [keyValueList([["DB instance", db.DBInstanceIdentifier]]), name.node],
      primary: "Take snapshot",
      onSubmit: async () => {
        const id = name.input.value.trim();
        const err = checkSnapshotIdentifier("DBSnapshotIdentifier", id);
        fieldError(name.input, err);
        if (err) throw { code: "InvalidParameterValue", message: err };
        await api("CreateDBSnapshot", { DBInstanceIdentifier: db.DBInstanceIdentifier, DBSnapshotIdentifier: id });
        showNotice(`Creating snapshot ${id} of ${db.DBInstanceIdentifier}.`);
        after();
      },
    });
  }

  // The restorable window of an instance: its automated backup's RestoreWindow, else its
  // InstanceCreateTime .. LatestRestorableTime.
  async function restoreWindow(db) {
    let earliest = null;
    let latest = db.LatestRestorableTime || null;
    try {
      const res = await api("DescribeDBInstanceAutomatedBackups", db.DbiResourceId ? { DbiResourceId: db.DbiResourceId } : { DBInstanceIdentifier: db.DBInstanceIdentifier });
      const b = (res.DBInstanceAutomatedBackups || [])[0];
      if (b && b.RestoreWindow) {
        earliest = b.RestoreWindow.EarliestTime || null;
        latest = latest || b.RestoreWindow.LatestTime || null;
      }
    } catch (e) {
      // No automated backups: the window stays unknown.
    }
    return { earliest, latest };
  }

  function toLocalInput(iso) {
    // datetime-local holds UTC here (the label says so): YYYY-MM-DDTHH:MM:SS
    return iso ? new Date(iso).toISOString().slice(0, 19) : "";
  }

  async function restorePitrDialog(db, after, source) {
    const win = source && source.window ? source.window : await restoreWindow(db);
    const mode = radioGroup("Restore time", "pitr-mode", [
      ["latest", "Latest restorable time", win.latest ? fmtTime(win.latest) : "Not known yet"],
      ["custom", "Custom date and time", "A time within the restorable window, in UTC."],
    ], "latest");
    const tid = ui.uid("rt");
    const time = el("input", { id: tid, type: "datetime-local", step: "1", disabled: true, min: toLocalInput(win.earliest) || null, max: toLocalInput(win.latest) || null, value: toLocalInput(win.latest) });
    const timeField = el("div", { class: "field" }, el("label", { for: tid, text: "Restore time" }),
      el("div", { class: "hint", text: `UTC. Earliest restorable time ${fmtTime(win.earliest)}; latest restorable time ${fmtTime(win.latest)}.` }), time);
    for (const i of Object.values(mode.inputs)) i.addEventListener("change", () => { time.disabled = mode.value !== "custom"; });
    const target = textField("DB instance identifier", { hint: "The name of the new DB instance, unique in this Region.", value: `${db.DBInstanceIdentifier}-restored` });
    const cls = selectField("DB instance class", INSTANCE_CLASSES.includes(db.DBInstanceClass) ? INSTANCE_CLASSES : [db.DBInstanceClass, ...INSTANCE_CLASSES], db.DBInstanceClass || "db.t3.micro");
    const multi = checkField("Multi-AZ DB instance", false);
    openDialog({
      title: "Restore to point in time",
      body: [keyValueList([["Source DB instance", db.DBInstanceIdentifier]]), mode.node, timeField, target.node, cls.node, multi.node],
      primary: "Restore to point in time",
      onSubmit: async () => {
        const id = target.input.value.trim();
        const err = checkIdentifier("TargetDBInstanceIdentifier", id);
        fieldError(target.input, err);
        if (err) throw { code: "InvalidParameterValue", message: err };
        const params = { TargetDBInstanceIdentifier: id, DBInstanceClass: cls.input.value, MultiAZ: multi.input.checked };
        if (source && source.params) Object.assign(params, source.params);
        else params.SourceDBInstanceIdentifier = db.DBInstanceIdentifier;
        if (mode.value === "custom") {
          if (!time.value) throw { code: "InvalidParameterValue", message: "Choose a restore time." };
          const t = new Date(`${time.value.length === 16 ? `${time.value}:00` : time.value}Z`);
          if (win.earliest && t < new Date(new Date(win.earliest).getTime() - 999)) throw { code: "InvalidParameterValue", message: `The restore time is before the earliest restorable time ${fmtTime(win.earliest)}.` };
          if (win.latest && t > new Date(new Date(win.latest).getTime() + 999)) throw { code: "InvalidParameterValue", message: `The restore time is after the latest restorable time ${fmtTime(win.latest)}.` };
          params.RestoreTime = t.toISOString().replace(/\.\d{3}Z$/, "Z");
        } else {
          params.UseLatestRestorableTime = true;
        }
        await api("RestoreDBInstanceToPointInTime", params);
        showNotice(`Restoring ${id} from ${db.DBInstanceIdentifier}.`);
        after();
        navigate("#/databases");
      },
    });
  }

  function createReplicaDialog(db, after) {
    const target = textField("DB instance identifier", { hint: "The name of the read replica.", value: `${db.DBInstanceIdentifier}-replica` });
    const cls = selectField("DB instance class", INSTANCE_CLASSES.includes(db.DBInstanceClass) ? INSTANCE_CLASSES : [db.DBInstanceClass, ...INSTANCE_CLASSES], db.DBInstanceClass || "db.t3.micro");
    const multi = checkField("Multi-AZ DB instance", false);
    const pub = checkField("Public access", !!db.PubliclyAccessible);
    openDialog({
      title: "Create read replica",
      body: [keyValueList([["Source DB instance", db.DBInstanceIdentifier]]), target.node, cls.node, multi.node, pub.node],
      primary: "Create read replica",
      onSubmit: async () => {
        const id = target.input.value.trim();
        const err = checkIdentifier("DBInstanceIdentifier", id);
        fieldError(target.input, err);
        if (err) throw { code: "InvalidParameterValue", message: err };
        await api("CreateDBInstanceReadReplica", { DBInstanceIdentifier: id, SourceDBInstanceIdentifier: db.DBInstanceIdentifier, DBInstanceClass: cls.input.value, MultiAZ: multi.input.checked, PubliclyAccessible: pub.input.checked });
        showNotice(`Creating read replica ${id} of ${db.DBInstanceIdentifier}.`);
        after();
      },
    });
  }

  function promoteDialog(db, after) {
    const retention = textField("Backup retention period", { type: "number", min: 0, max: 35, value: String(db.BackupRetentionPeriod || 7), hint: "Days (0-35)." });
    openDialog({
      title: "Promote read replica",
      body: [el("p", { text: `${db.DBInstanceIdentifier} stops replicating from ${db.ReadReplicaSourceDBInstanceIdentifier} and becomes a standalone DB instance that accepts writes. This cannot be undone.` }), retention.node],
      primary: "Promote read replica",
      onSubmit: async () => {
        const n = Number(retention.input.value);
        const err = checkRetention(n);
        fieldError(retention.input, err);
        if (err) throw { code: "InvalidParameterValue", message: err };
        await api("PromoteReadReplica", { DBInstanceIdentifier: db.DBInstanceIdentifier, BackupRetentionPeriod: n });
        showNotice(`Promoting ${db.DBInstanceIdentifier}.`);
        after();
      },
    });
  }

  function rebootDialog(db, after) {
    const failover = checkField("Reboot with failover", false, db.MultiAZ ? "The standby in the other Availability Zone becomes the primary." : "Only a Multi-AZ DB instance can fail over.");
    failover.input.disabled = !db.MultiAZ;
    openDialog({
      title: "Reboot DB instance",
      body: [el("p", { text: `Reboot ${db.DBInstanceIdentifier}? It is unavailable while it restarts.` }), failover.node],
      primary: "Reboot",
      onSubmit: async () => {
        await api("RebootDBInstance", { DBInstanceIdentifier: db.DBInstanceIdentifier, ForceFailover: db.MultiAZ ? failover.input.checked : undefined });
        showNotice(`Rebooting ${db.DBInstanceIdentifier}${failover.input.checked ? " with failover" : ""}.`);
        after();
      },
    });
  }

  function stopDialog(db, after) {
    const snap = checkField("Save the DB instance in a snapshot", false);
    const name = textField("Snapshot name", { value: `${db.DBInstanceIdentifier}-stop-snapshot` });
    name.node.hidden = true;
    snap.input.addEventListener("change", () => { name.node.hidden = !snap.input.checked; });
    openDialog({
      title: "Stop DB instance temporarily",
      body: [el("p", { text: `${db.DBInstanceIdentifier} stops for up to 7 days; RDS starts it again after that.` }), snap.node, name.node],
      primary: "Stop temporarily",
      onSubmit: async () => {
        const params = { DBInstanceIdentifier: db.DBInstanceIdentifier };
        if (snap.input.checked) params.DBSnapshotIdentifier = name.input.value.trim();
        await api("StopDBInstance", params);
        showNotice(`Stopping ${db.DBInstanceIdentifier}.`);
        after();
      },
    });
  }

  function startDialog(db, after) {
    confirmDialog("Start DB instance", `Start ${db.DBInstanceIdentifier}?`, "Start", async () => {
      await api("StartDBInstance", { DBInstanceIdentifier: db.DBInstanceIdentifier });
      showNotice(`Starting ${db.DBInstanceIdentifier}.`);
      after();
    });
  }

  async function parameterGroupNames(family) {
    try {
      const groups = await apiAll("DescribeDBParameterGroups", {}, "DBParameterGroups");
      return groups.filter((g) => !family || g.DBParameterGroupFamily === family).map((g) => g.DBParameterGroupName);
    } catch (e) {
      return [];
    }
  }

  function familyOf(version) {
    const major = String(version || "15").split(".")[0];
    return `postgres${major}`;
  }

  async function modifyDialog(db, after) {
    const currentPg = ((db.DBParameterGroups || [])[0] || {}).DBParameterGroupName || "";
    const pgNames = await parameterGroupNames(familyOf(db.EngineVersion));
    if (currentPg && !pgNames.includes(currentPg)) pgNames.unshift(currentPg);
    const cls = selectField("DB instance class", INSTANCE_CLASSES.includes(db.DBInstanceClass) ? INSTANCE_CLASSES : [db.DBInstanceClass, ...INSTANCE_CLASSES], db.DBInstanceClass);
    const retention = textField("Backup retention period", { type: "number", min: 0, max: 35, value: String(db.BackupRetentionPeriod ?? 7), hint: "Days (0-35); 0 turns automated backups off." });
    const multi = radioGroup("Multi-AZ deployment", "mod-multiaz", [["no", "Single DB instance"], ["yes", "Multi-AZ DB instance"]], db.MultiAZ ? "yes" : "no");
    const pw = textField("New master password", { type: "password", hint: "Leave empty to keep the current password.", autocomplete: "new-password" });
    const pg = selectField("DB parameter group", pgNames.length ? pgNames : [currentPg || "default.postgres15"], currentPg);
    const dp = checkField("Deletion protection", !!db.DeletionProtection);
    const summaryBody = el("tbody");
    const summary = el("div", { class: "summary" }, el("h3", { text: "Summary of modifications" }),
      el("table", { class: "data-table" }, el("thead", {}, el("tr", {}, el("th", { text: "Attribute" }), el("th", { text: "Current value" }), el("th", { text: "New value" }))), summaryBody));
    const when = radioGroup("Schedule modifications", "mod-when", [
      ["immediately", "Apply immediately", "The changes are applied now; the instance may be unavailable for a short time."],
      ["window", "Apply during the next scheduled maintenance window", `Current maintenance window: ${dash(db.PreferredMaintenanceWindow)}`],
    ], "immediately");
    function changes() {
      const out = [];
      if (cls.input.value !== db.DBInstanceClass) out.push(["DB instance class", db.DBInstanceClass, cls.input.value, { DBInstanceClass: cls.input.value }]);
      const n = Number(retention.input.value);
      if (retention.input.value !== "" && n !== db.BackupRetentionPeriod) out.push(["Backup retention period", `${db.BackupRetentionPeriod} days`, `${n} days`, { BackupRetentionPeriod: n }]);
      const m = multi.value === "yes";
      if (m !== !!db.MultiAZ) out.push(["Multi-AZ deployment", yesNo(db.MultiAZ), yesNo(m), { MultiAZ: m }]);
      if (pw.input.value) out.push(["Master password", "****", "****", { MasterUserPassword: pw.input.value }]);
      if (pg.input.value && pg.input.value !== currentPg) out.push(["DB parameter group", currentPg, pg.input.value, { DBParameterGroupName: pg.input.value }]);
      if (dp.input.checked !== !!db.DeletionProtection) out.push(["Deletion protection", yesNo(db.DeletionProtection), yesNo(dp.input.checked), { DeletionProtection: dp.input.checked }]);
      return out;
    }
    function refresh() {
      clear(summaryBody);
      const list = changes();
      if (!list.length) summaryBody.appendChild(el("tr", {}, el("td", { colspan: 3, text: "No changes yet." })));
      for (const [a, b, c] of list) summaryBody.appendChild(el("tr", {}, el("td", { text: a }), el("td", { text: dash(b) }), el("td", { text: dash(c) })));
    }
    const dlg = openDialog({
      title: `Modify DB instance: ${db.DBInstanceIdentifier}`,
      wide: true,
      body: [cls.node, retention.node, multi.node, pw.node, pg.node, dp.node, summary, when.node],
      primary: "Modify DB instance",
      onSubmit: async () => {
        const list = changes();
        if (pw.input.value) {
          const err = checkPassword(pw.input.value);
          fieldError(pw.input, err);
          if (err) throw { code: "InvalidParameterValue", message: err };
        }
        const err = retention.input.value === "" ? null : checkRetention(Number(retention.input.value));
        fieldError(retention.input, err);
        if (err) throw { code: "InvalidParameterValue", message: err };
        if (!list.length) throw { code: "InvalidParameterCombination", message: "No modifications were requested." };
        const params = { DBInstanceIdentifier: db.DBInstanceIdentifier, ApplyImmediately: when.value === "immediately" };
        for (const c of list) Object.assign(params, c[3]);
        await api("ModifyDBInstance", params);
        showNotice(`Modifying ${db.DBInstanceIdentifier}${params.ApplyImmediately ? "" : " in the next maintenance window"}.`);
        after();
      },
    });
    dlg.form.addEventListener("input", refresh);
    dlg.form.addEventListener("change", refresh);
    refresh();
  }

  function deleteDialog(db, after) {
    const snap = checkField("Create final snapshot", !db.ReadReplicaSourceDBInstanceIdentifier);
    const name = textField("Final snapshot name", { value: `${db.DBInstanceIdentifier}-final-snapshot` });
    const retain = checkField("Retain automated backups", false);
    const ack = checkField("I acknowledge that upon instance deletion, automated backups, including system snapshots and point-in-time recovery, will no longer be available.", false);
    const confirmId = ui.uid("delme");
    const confirmInput = el("input", { id: confirmId, type: "text", placeholder: "delete me", autocomplete: "off", spellcheck: "false" });
    const confirmField = el("div", { class: "field" }, el("label", { for: confirmId }, "To confirm deletion, type ", el("em", { text: "delete me" }), " into the field"), confirmInput);
    if (db.ReadReplicaSourceDBInstanceIdentifier) {
      snap.input.checked = false;
      snap.input.disabled = true;
      retain.node.hidden = true;
    }
    const dlg = openDialog({
      title: `Delete ${db.DBInstanceIdentifier} instance?`,
      danger: true,
      body: [el("p", { text: "Deleting a DB instance deletes its storage and its automated backups unless you retain them." }), snap.node, name.node, retain.node, ack.node, confirmField],
      primary: "Delete",
      onSubmit: async () => {
        const params = { DBInstanceIdentifier: db.DBInstanceIdentifier, SkipFinalSnapshot: !snap.input.checked, DeleteAutomatedBackups: !retain.input.checked };
        if (snap.input.checked) params.FinalDBSnapshotIdentifier = name.input.value.trim();
        await api("DeleteDBInstance", params);
        showNotice(`Deleting ${db.DBInstanceIdentifier}.`);
        after();
        navigate("#/databases");
      },
    });
    function update() {
      name.node.hidden = !snap.input.checked;
      const needAck = !snap.input.checked && !retain.input.checked;
      dlg.setPrimaryDisabled(confirmInput.value.trim() !== "delete me" || (needAck && !ack.input.checked));
    }
    dlg.form.addEventListener("input", update);
    dlg.form.addEventListener("change", update);
    update();
  }

  // ---------------------------------------------------------------- Databases
  builtin("databases", "Databases", async (container, args) => {
    if (args.length) return renderInstanceDetails(container, args[0]);
    let selected = null;
    let instances = [];
    const tableHolder = el("div", {}, loading());
    const count = el("span", { class: "count", text: "" });
    const menu = actionsMenu("Actions", () => instanceActions(instances.find((d) => d.DBInstanceIdentifier === selected), refresh));
    const header = el("div", { class: "page-header" },
      el("h1", {}, "Databases ", count),
      el("div", { class: "page-actions" }, btn("Refresh", () => refresh(true)), menu.node, btn("Create database", () => navigate("#/create-database"), "primary")));
    const filterId = ui.uid("flt");
    const filter = el("input", { id: filterId, type: "search", placeholder: "Filter by databases", class: "filter" });
    filter.addEventListener("input", () => draw());
    container.append(header, el("div", { class: "panel" },
      el("div", { class: "toolbar" }, el("label", { for: filterId, class: "sr-only", text: "Filter by databases" }), filter), tableHolder));
    async function refresh(userAsked) {
      try {
        instances = await describeInstances();
      } catch (e) {
        if (userAsked || !instances.length) showError(e);
        return;
      }
      // DescribeDBInstances has no ReplicaLag (RDS reports it through CloudWatch): ask the
      // console's metrics call for each replica's.
      await Promise.all(instances.filter((d) => d.ReadReplicaSourceDBInstanceIdentifier && d.ReplicaLag === undefined).slice(0, 20).map(async (d) => {
        try {
          const m = await LC.get("metrics", { DBInstanceIdentifier: d.DBInstanceIdentifier });
          d.ReplicaLag = m.ReplicaLag;
        } catch (e) { /* unknown: shown as - */ }
      }));
      if (selected && !instances.some((d) => d.DBInstanceIdentifier === selected)) selected = null;
      count.textContent = `(${instances.length})`;
      draw();
    }
    function draw() {
      const q = filter.value.trim().toLowerCase();
      const rows = nestInstances(instances).filter(({ db }) => !q || `${db.DBInstanceIdentifier} ${db.DBInstanceStatus} ${db.DBInstanceClass} ${db.AvailabilityZone}`.toLowerCase().includes(q));
      const view = rows.map(({ db, depth }) => [depth, db.DBInstanceIdentifier, roleOf(db), db.DBInstanceStatus, db.AvailabilityZone, db.DBInstanceClass, db.MultiAZ, db.ReplicaLag]);
      if (tableHolder.dataset.sig === JSON.stringify(view)) return;
      tableHolder.dataset.sig = JSON.stringify(view);
      const table = dataTable({
        label: "Databases",
        columns: [
          { title: "DB identifier", render: ({ db, depth }) => el("span", { class: ["ident", depth ? `nested nested-${Math.min(depth, 3)}` : null] }, depth ? el("span", { class: "tree", "aria-hidden": "true", text: "\u2514 " }) : null, el("a", { href: `#/databases/${encodeURIComponent(db.DBInstanceIdentifier)}` }, db.DBInstanceIdentifier)) },
          { title: "Role", render: ({ db }) => roleOf(db) },
          { title: "Status", render: ({ db }) => statusBadge(db.DBInstanceStatus) },
          { title: "Engine", render: ({ db }) => engineName(db.Engine) },
          { title: "Region & AZ", render: ({ db }) => dash(db.AvailabilityZone) },
          { title: "Size", render: ({ db }) => db.DBInstanceClass },
          { title: "Multi-AZ", render: ({ db }) => (db.MultiAZ ? "Yes" : "No") },
          { title: "Replica lag", render: ({ db }) => (db.ReadReplicaSourceDBInstanceIdentifier ? fmtLag(lagOf(db)) : "-") },
        ],
        rows,
        keyOf: (r) => r.db.DBInstanceIdentifier,
        selectable: true,
        selected,
        onSelect: (k) => { selected = k; },
        empty: "No databases. Choose Create database to launch one.",
      });
      // Keep focus where it was across the 2-second refresh.
      const focused = document.activeElement && tableHolder.contains(document.activeElement) ? document.activeElement : null;
      const focusKey = focused ? (focused.closest("tr") || {}).dataset?.key : null;
      const focusIsLink = focused && focused.tagName === "A";
      clear(tableHolder).appendChild(table);
      if (focusKey) {
        const tr = table.querySelector(`tr[data-key="${CSS.escape(focusKey)}"]`);
        const target = tr && tr.querySelector(focusIsLink ? "a" : "input");
        if (target) target.focus();
      }
    }
    await refresh(true);
    onTick(() => refresh(false));
  });

  // ---------------------------------------------------------------- Create database
  builtin("create-database", "Create database", async (container) => {
    container.appendChild(el("nav", { class: "breadcrumbs", "aria-label": "Breadcrumbs" }, el("a", { href: "#/databases" }, "Databases"), " \u203a Create database"));
    container.appendChild(pageHeader("Create database"));
    const form = el("form", { class: "create-form", novalidate: true });
    container.appendChild(form);
    const section = (title, ...kids) => el("section", { class: "panel form-section" }, el("h2", { text: title }), kids);

    const method = radioGroup("Choose a database creation method", "create-method", [
      ["standard", "Standard create", "You set all of the configuration options, including ones for availability, security, backups, and maintenance."],
    ], "standard");
    const engineType = radioGroup("Engine type", "engine-type", [["postgres", "PostgreSQL"]], "postgres");
    const versionSel = selectField("Engine version", ["15"], "15");
    const template = radioGroup("Templates", "template", [
      ["production", "Production", "Use defaults for high availability and fast, consistent performance."],
      ["devtest", "Dev/Test", "This instance is intended for development use outside of a production environment."],
      ["freetier", "Free tier", "Use RDS Free Tier to develop new applications, test existing applications, or gain hands-on experience."],
    ], "devtest");
    const ident = textField("DB instance identifier", { value: "database-1", hint: "Unique across all DB instances owned by your account in the current Region. 1 to 63 letters, digits or hyphens; begins with a letter." });
    const user = textField("Master username", { value: "postgres", hint: "1 to 63 letters, digits or underscores; begins with a letter." });
    const auto = checkField("Auto generate a password", false, "localrds generates a password, shown once after the instance is created.");
    const pw = textField("Master password", { type: "password", autocomplete: "new-password", hint: "At least 8 printable ASCII characters; not /, @, \" or space." });
    const pw2 = textField("Confirm master password", { type: "password", autocomplete: "new-password" });
    const cls = selectField("DB instance class", INSTANCE_CLASSES, "db.t3.micro");
    const storageType = selectField("Storage type", [["gp2", "General Purpose SSD (gp2)"], ["gp3", "General Purpose SSD (gp3)"], ["io1", "Provisioned IOPS SSD (io1)"]], "gp2");
    const storage = textField("Allocated storage", { type: "number", min: 20, max: 65536, value: "20", hint: "GiB (20 - 65,536)." });
    const az = radioGroup("Availability and durability", "deployment", [
      ["single", "Single DB instance", "Creates a single DB instance with no standby DB instances."],
      ["multi", "Multi-AZ DB instance", "Creates a primary DB instance and a standby DB instance in a different AZ. Provides high availability and data redundancy."],
    ], "single");
    const pub = checkField("Public access", false, "localrds serves every endpoint on 127.0.0.1; this only sets PubliclyAccessible.");
    const subnet = selectField("DB subnet group", [["", "default"]], "");
    const port = textField("Database port", { type: "number", min: 1150, max: 65535, placeholder: "5432", hint: "Empty: localrds picks a free port for the instance (5432 is the PostgreSQL default)." });
    const dbname = textField("Initial database name", { hint: "If you do not specify a database name, Amazon RDS does not create a database." });
    const pg = selectField("DB parameter group", [["", "default.postgres15"]], "");
    const backups = checkField("Enable automated backups", true, "Creates a point-in-time snapshot of your database.");
    const retention = textField("Backup retention period", { type: "number", min: 0, max: 35, value: "7", hint: "Days (0 - 35). The console's default is 7 days." });
    const bwin = textField("Backup window", { placeholder: "hh24:mi-hh24:mi (UTC), e.g. 03:00-03:30", hint: "Empty: no preference." });
    const mwin = textField("Maintenance window", { placeholder: "ddd:hh24:mi-ddd:hh24:mi (UTC), e.g. sun:05:00-sun:05:30", hint: "Empty: no preference." });
    const copyTags = checkField("Copy tags to snapshots", true);
    const dp = checkField("Deletion protection", false, "Protects the database from being deleted accidentally.");
    const submit = el("button", { type: "submit", class: "btn btn-primary" }, "Create database");

    // Engine versions and groups from the service.
    (async () => {
      try {
        const res = await api("DescribeDBEngineVersions", { Engine: "postgres" });
        const versions = (res.DBEngineVersions || []).map((v) => v.EngineVersion);
        if (versions.length) {
          clear(versionSel.input);
          versions.forEach((v) => versionSel.input.appendChild(el("option", { value: v }, `PostgreSQL ${v}`)));
          versionSel.input.value = versions[versions.length - 1];
          await fillGroups();
        }
      } catch (e) { /* keep the static choice */ }
      try {
        const sg = await apiAll("DescribeDBSubnetGroups", {}, "DBSubnetGroups");
        sg.forEach((g) => { if (g.DBSubnetGroupName !== "default") subnet.input.appendChild(el("option", { value: g.DBSubnetGroupName }, g.DBSubnetGroupName)); });
      } catch (e) { /* none */ }
    })();
    async function fillGroups() {
      const fam = familyOf(versionSel.input.value);
      const names = await parameterGroupNames(fam);
      clear(pg.input);
      pg.input.appendChild(el("option", { value: "" }, `default.${fam}`));
      names.filter((n) => n !== `default.${fam}`).forEach((n) => pg.input.appendChild(el("option", { value: n }, n)));
    }
    versionSel.input.addEventListener("change", () => fillGroups().catch(showError));

    function applyTemplate() {
      const t = template.value;
      if (t === "production") {
        az.inputs.multi.checked = true;
        cls.input.value = "db.m5.large";
      } else {
        az.inputs.single.checked = true;
        cls.input.value = "db.t3.micro";
      }
      az.inputs.multi.disabled = t === "freetier";
    }
    Object.values(template.inputs).forEach((i) => i.addEventListener("change", applyTemplate));
    auto.input.addEventListener("change", () => {
      pw.node.hidden = auto.input.checked;
      pw2.node.hidden = auto.input.checked;
    });
    backups.input.addEventListener("change", () => {
      retention.node.hidden = !backups.input.checked;
      bwin.node.hidden = !backups.input.checked;
    });

    form.append(
      el("section", { class: "panel form-section" }, method.node),
      section("Engine options", engineType.node, versionSel.node),
      section("Templates", template.node),
      section("Settings", ident.node, el("h3", { text: "Credentials settings" }), user.node, auto.node, pw.node, pw2.node),
      section("Instance configuration", cls.node),
      section("Storage", storageType.node, storage.node),
      section("Availability and durability", az.node),
      section("Connectivity", subnet.node, pub.node, port.node),
      section("Additional configuration", dbname.node, pg.node, el("h3", { text: "Backup" }), backups.node, retention.node, bwin.node,
        el("h3", { text: "Maintenance" }), mwin.node, copyTags.node, dp.node),
      el("div", { class: "form-footer" }, btn("Cancel", () => navigate("#/databases")), submit));

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const errors = [];
      const check = (input, msg) => {
        fieldError(input, msg);
        if (msg) errors.push([input, msg]);
      };
      const id = ident.input.value.trim();
      check(ident.input, checkIdentifier("DBInstanceIdentifier", id));
      check(user.input, checkMasterUsername(user.input.value.trim()));
      let password = pw.input.value;
      if (auto.input.checked) {
        password = generatePassword();
      } else {
        check(pw.input, checkPassword(password));
        check(pw2.input, pw2.input.value !== password ? "Passwords must match." : null);
      }
      const n = backups.input.checked ? Number(retention.input.value) : 0;
      check(retention.input, backups.input.checked ? checkRetention(retention.input.value === "" ? NaN : n) : null);
      const storageN = Number(storage.input.value);
      check(storage.input, !Number.isInteger(storageN) || storageN < 20 || storageN > 65536 ? "Invalid storage size for engine name postgres and storage type gp2: " + storage.input.value : null);
      if (port.input.value !== "") check(port.input, checkPort(Number(port.input.value)));
      if (dbname.input.value.trim()) check(dbname.input, checkDBName(dbname.input.value.trim()));
      if (errors.length) {
        showError({ code: "InvalidParameterValue", message: errors[0][1] });
        errors[0][0].focus();
        return;
      }
      const params = {
        DBInstanceIdentifier: id, Engine: "postgres", EngineVersion: versionSel.input.value,
        MasterUsername: user.input.value.trim(), MasterUserPassword: password,
        DBInstanceClass: cls.input.value, AllocatedStorage: storageN, StorageType: storageType.input.value,
        MultiAZ: az.value === "multi", PubliclyAccessible: pub.input.checked,
        Port: port.input.value || undefined, DBName: dbname.input.value.trim() || undefined,
        DBParameterGroupName: pg.input.value || undefined, DBSubnetGroupName: subnet.input.value || undefined,
        BackupRetentionPeriod: n, PreferredBackupWindow: backups.input.checked ? bwin.input.value.trim() || undefined : undefined,
        PreferredMaintenanceWindow: mwin.input.value.trim() || undefined,
        CopyTagsToSnapshot: copyTags.input.checked, DeletionProtection: dp.input.checked,
      };
      submit.disabled = true;
      try {
        await api("CreateDBInstance", params);
        ui.clearErrors();
        if (auto.input.checked) {
          const note = showNotice(`Creating database ${id}. Its generated master password (shown only now): `);
          note.querySelector(".banner-message").appendChild(el("code", { class: "secret", text: password }));
        } else {
          showNotice(`Creating database ${id}.`);
        }
        navigate("#/databases");
      } catch (e) {
        showError(e);
      } finally {
        submit.disabled = false;
      }
    });
  });

  // ---------------------------------------------------------------- instance details
  async function renderInstanceDetails(container, id) {
    let db;
    container.appendChild(el("nav", { class: "breadcrumbs", "aria-label": "Breadcrumbs" }, el("a", { href: "#/databases" }, "Databases"), ` \u203a ${id}`));
    const holder = el("div", {}, loading());
    container.appendChild(holder);
    try {
      db = (await api("DescribeDBInstances", { DBInstanceIdentifier: id })).DBInstances[0];
    } catch (e) {
      clear(holder).appendChild(el("h1", { text: id }));
      showError(e);
      return;
    }
    recordSample(db);
    clear(holder);
    const after = () => refresh();
    const menu = actionsMenu("Actions", () => instanceActions(db, after));
    const summaryBox = el("div", { class: "panel summary-panel" });
    holder.append(
      el("div", { class: "page-header" }, el("h1", { text: db.DBInstanceIdentifier }),
        el("div", { class: "page-actions" }, btn("Refresh", () => refresh(true)), menu.node)),
      summaryBox);
    function renderSummary() {
      clear(summaryBox).appendChild(el("h2", { text: "Summary" }));
      summaryBox.appendChild(el("div", { class: "summary-grid" },
        keyValueList([["DB identifier", db.DBInstanceIdentifier], ["Status", statusBadge(db.DBInstanceStatus)], ["Role", roleOf(db)]]),
        keyValueList([["Engine", `${engineName(db.Engine)} ${db.EngineVersion || ""}`], ["Class", db.DBInstanceClass], ["Region & AZ", db.AvailabilityZone]]),
        keyValueList([["Multi-AZ", yesNo(db.MultiAZ)], db.ReadReplicaSourceDBInstanceIdentifier ? ["Replica lag", fmtLag(lagOf(db))] : ["Read replicas", String((db.ReadReplicaDBInstanceIdentifiers || []).length)],
          ["Pending modifications", db.PendingModifiedValues && Object.keys(db.PendingModifiedValues).length ? Object.keys(db.PendingModifiedValues).join(", ") : "None"]])));
    }
    renderSummary();
    const tabDefs = [
      { id: "connectivity", title: "Connectivity & security", render: tabConnectivity },
      { id: "monitoring", title: "Monitoring", render: tabMonitoring, live: true },
      { id: "logs", title: "Logs & events", render: tabLogs },
      { id: "configuration", title: "Configuration", render: tabConfiguration },
      { id: "maintenance", title: "Maintenance & backups", render: tabMaintenance },
      { id: "tags", title: "Tags", render: tabTags },
    ];
    for (const ph of ui.INSTANCE_TAB_PLACEHOLDERS) {
      const reg = state.instanceTabs.find((t) => t.id === ph.id || t.title === ph.title);
      tabDefs.push(reg ? { id: reg.id, title: reg.title || ph.title, render: (p, d) => reg.render(p, d), external: true }
        : { id: ph.id, title: ph.title, render: (p) => p.appendChild(el("p", { text: `${ph.title} comes with the workshop pages (workshop.js), which are not loaded.` })) });
    }
    for (const t of state.instanceTabs) {
      if (!tabDefs.some((d) => d.id === t.id)) tabDefs.push({ id: t.id, title: t.title, render: (p, d) => t.render(p, d), external: true });
    }
    let activeTab = null;
    let activePanel = null;
    let tabRefresh = null;
    const tabTicks = new Set();
    const tabUi = tabs("Instance details", tabDefs, null, (tabId, panel) => {
      activeTab = tabDefs.find((t) => t.id === tabId);
      activePanel = panel;
      tabRefresh = null;
      ui.dropTickScope(tabTicks);
      Promise.resolve(ui.withTickScope(tabTicks, () => activeTab.render(panel, db, (fn) => { tabRefresh = fn; }))).catch(showError);
    });
    holder.append(tabUi.list, tabUi.panel);
    tabUi.activate("connectivity", false);

    async function refresh(userAsked) {
      try {
        const fresh = (await api("DescribeDBInstances", { DBInstanceIdentifier: id })).DBInstances[0];
        const changed = JSON.stringify(fresh) !== JSON.stringify(db);
        db = fresh;
        const m = await recordSample(db);
        if (m && m.ReplicaLag !== undefined && m.ReplicaLag !== null) db.ReplicaLag = m.ReplicaLag;
        renderSummary();
        if (tabRefresh) await tabRefresh(db);
        else if (changed && activeTab && !activeTab.external && userAsked) {
          activeTab.render(clear(activePanel), db, (fn) => { tabRefresh = fn; });
        }
      } catch (e) {
        if (e && e.code === "DBInstanceNotFound") {
          db = { ...db, DBInstanceStatus: "deleted" };
          renderSummary();
          if (userAsked) showError(e);
          return;
        }
        if (userAsked) showError(e);
      }
    }
    onTick(() => refresh(false));
  }

  function copyButton(text, what) {
    return el("button", {
      type: "button", class: "btn btn-small", "aria-label": `Copy ${what}`,
      onclick: async (ev) => {
        const b = ev.currentTarget;
        try {
          if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
          else {
            const ta = el("textarea", { class: "offscreen", readonly: true }, text);
            document.body.appendChild(ta);
            ta.select();
            document.execCommand("copy");
            ta.remove();
          }
          b.textContent = "Copied";
          setTimeout(() => { b.textContent = "Copy"; }, 1500);
          showNotice(`Copied the ${what}.`);
        } catch (e) {
          showError({ code: "CopyFailed", message: `Could not copy: ${e.message}` });
        }
      },
    }, "Copy");
  }

  function tabConnectivity(panel, db, setRefresh) {
    function draw(d) {
      clear(panel);
      const ep = d.Endpoint || {};
      const dbname = d.DBName || "postgres";
      const user = d.MasterUsername || "postgres";
      const psql = ep.Address ? `psql "host=${ep.Address} port=${ep.Port} dbname=${dbname} user=${user} sslmode=require"` : "";
      const uri = ep.Address ? `postgresql://${encodeURIComponent(user)}@${ep.Address}:${ep.Port}/${encodeURIComponent(dbname)}?sslmode=require` : "";
      panel.append(
        el("div", { class: "cols" },
          el("section", {}, el("h3", { text: "Endpoint & port" }), keyValueList([["Endpoint", ep.Address ? el("code", { text: ep.Address }) : "Not yet available"], ["Port", ep.Port ? String(ep.Port) : "-"]])),
          el("section", {}, el("h3", { text: "Networking" }), keyValueList([
            ["Availability Zone", d.AvailabilityZone], ["Secondary Availability Zone", d.SecondaryAvailabilityZone],
            ["Subnet group", (d.DBSubnetGroup || {}).DBSubnetGroupName], ["VPC", (d.DBSubnetGroup || {}).VpcId]])),
          el("section", {}, el("h3", { text: "Security" }), keyValueList([
            ["VPC security groups", (d.VpcSecurityGroups || []).map((g) => `${g.VpcSecurityGroupId} (${g.Status})`).join(", ")],
            ["Publicly accessible", yesNo(d.PubliclyAccessible)], ["Certificate authority", d.CACertificateIdentifier]]))),
        el("section", { class: "connect" }, el("h3", { text: "Connect" }),
          psql ? [
            el("div", { class: "copy-row" }, el("span", { class: "copy-label", text: "psql command" }), el("code", { class: "copy-text", "data-copy": "psql", text: psql }), copyButton(psql, "psql command")),
            el("div", { class: "copy-row" }, el("span", { class: "copy-label", text: "Connection string" }), el("code", { class: "copy-text", "data-copy": "uri", text: uri }), copyButton(uri, "connection string")),
            el("p", { class: "hint", text: "The password is the master password you chose; it is not shown here." }),
          ] : el("p", { text: "The endpoint appears once the instance is created." })));
    }
    draw(db);
    let last = JSON.stringify([db.Endpoint, db.DBInstanceStatus, db.AvailabilityZone]);
    setRefresh((d) => {
      const now = JSON.stringify([d.Endpoint, d.DBInstanceStatus, d.AvailabilityZone]);
      if (now !== last && !panel.contains(document.activeElement)) {
        last = now;
        draw(d);
      }
    });
  }

  // Monitoring: hand-made SVG line charts of DatabaseConnections and ReplicaLag, with the status
  // as a coloured band under each, sampled every 2 s while the details page is open.
  function tabMonitoring(panel, db, setRefresh) {
    const conns = el("div", { class: "chart-box" });
    const lag = el("div", { class: "chart-box" });
    const legend = el("div", { class: "chart-legend" });
    panel.append(
      el("p", { class: "hint", text: "Sampled every 2 seconds while this page is open (the last 30 minutes): client connections from pg_stat_activity on the instance's server, ReplicaLag as RDS computes it." }),
      el("div", { class: "chart-grid" },
        el("section", {}, el("h3", { text: "Database connections (count)" }), conns),
        el("section", {}, el("h3", { text: "Replica lag (seconds)" }), lag)),
      legend);
    function draw() {
      const samples = state.samples.get(`${LC.region()}/${db.DBInstanceIdentifier}`) || [];
      clear(conns).appendChild(drawChart(samples, "conns", "Database connections", null));
      clear(lag).appendChild(drawChart(samples, "lag", "Replica lag (s)", db.ReadReplicaSourceDBInstanceIdentifier ? null : "Not a read replica: no replica lag"));
      const statuses = [...new Set(samples.map((x) => x.status))];
      clear(legend).append(el("span", { class: "legend-title", text: "Status:" }), ...statuses.map((x) => el("span", { class: ["legend-item", `status-${statusClassOf(x)}`] }, el("span", { class: "legend-swatch" }), x)));
    }
    draw();
    setRefresh((d) => { db = d; draw(); });
  }

  function statusClassOf(s) {
    const b = statusBadge(s);
    return b.className.replace(/.*status-(\w+).*/, "$1");
  }

  function drawChart(samples, key, label, emptyText) {
    const W = 560; const H = 240; const L = 44; const R = 14; const T = 12; const B = 60;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${label} over time` });
    if (samples.length < 1) {
      svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, "Collecting samples…"));
      return svg;
    }
    const t0 = samples[0].t;
    const t1 = Math.max(samples[samples.length - 1].t, t0 + 60000);
    const values = samples.map((x) => x[key]).filter((v) => v !== null && v !== undefined);
    const top = Math.max(key === "conns" ? 4 : 1, ...values) * 1.15;
    const maxV = key === "conns" ? Math.ceil(top / 4) * 4 : top; // whole connections on the axis
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - v / maxV) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const v = (maxV * i) / 4;
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
      svg.appendChild(el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, key === "conns" ? String(Math.round(v)) : v < 10 ? v.toFixed(1) : String(Math.round(v))));
    }
    const span = t1 - t0;
    for (let i = 0; i <= 3; i++) {
      const t = t0 + (span * i) / 3;
      svg.appendChild(el("text", { x: x(t), y: H - B + 16, "text-anchor": i === 3 ? "end" : i === 0 ? "start" : "middle", class: "axis" }, new Date(t).toISOString().slice(11, 19)));
    }
    let seg = [];
    const flush = () => {
      if (seg.length > 1) svg.appendChild(el("polyline", { points: seg.join(" "), class: `line line-${key}` }));
      if (seg.length === 1) {
        const [px, py] = seg[0].split(",");
        svg.appendChild(el("circle", { cx: px, cy: py, r: 2.5, class: `dot dot-${key}` }));
      }
      seg = [];
    };
    for (const smp of samples) {
      const v = smp[key];
      if (v === null || v === undefined) flush();
      else seg.push(`${x(smp.t).toFixed(1)},${y(v).toFixed(1)}`);
    }
    flush();
    if (!values.length) svg.appendChild(el("text", { x: (W + L) / 2, y: T + 40, "text-anchor": "middle", class: "chart-empty" }, emptyText || "No value reported yet"));
    else {
      const last = values[values.length - 1];
      svg.appendChild(el("text", { x: W - R, y: T + 12, "text-anchor": "end", class: "chart-last" }, `now: ${last}`));
    }
    const bandY = H - B + 28;
    for (let i = 0; i < samples.length;) {
      let j = i;
      while (j + 1 < samples.length && samples[j + 1].status === samples[i].status) j++;
      const smp = samples[i];
      const xs = x(smp.t);
      const xe = j + 1 < samples.length ? x(samples[j + 1].t) : x(Math.min(t1, samples[j].t + 2000));
      svg.appendChild(el("rect", { x: xs, y: bandY, width: Math.max(1, xe - xs), height: 14, class: `band band-${statusClassOf(smp.status)}` },
        el("title", {}, `${new Date(smp.t).toISOString().slice(11, 19)}–${new Date(samples[j].t).toISOString().slice(11, 19)} ${smp.status}`)));
      if (xe - xs > 60) svg.appendChild(el("text", { x: xs + 4, y: bandY + 11, class: "band-label" }, smp.status));
      i = j + 1;
    }
    return svg;
  }

  async function tabLogs(panel, db) {
    const logs = el("div", {}, loading());
    const viewer = el("div", { class: "log-viewer-wrap" });
    const events = el("div", {}, loading());
    panel.append(el("h3", { text: "Logs" }), logs, viewer, el("h3", { text: "Recent events" }), events);
    try {
      const files = await apiAll("DescribeDBLogFiles", { DBInstanceIdentifier: db.DBInstanceIdentifier }, "DescribeDBLogFiles");
      clear(logs).appendChild(dataTable({
        label: "Logs",
        columns: [
          { title: "Name", render: (f) => f.LogFileName },
          { title: "Last written", render: (f) => fmtTime(typeof f.LastWritten === "number" ? new Date(f.LastWritten).toISOString() : f.LastWritten) },
          { title: "Size", render: (f) => `${(Number(f.Size || 0) / 1024).toFixed(1)} kB` },
          { title: "", render: (f) => btn("View", () => viewLog(f.LogFileName), "small", { "aria-label": `View ${f.LogFileName}` }) },
        ],
        rows: files.sort((a, b) => String(b.LogFileName).localeCompare(String(a.LogFileName))),
        empty: "No log files.",
      }));
    } catch (e) {
      clear(logs);
      showError(e);
    }
    async function viewLog(name) {
      clear(viewer).appendChild(loading());
      const pre = el("pre", { class: "log-viewer", tabindex: "0", "aria-label": `Contents of ${name}` });
      let marker = "0";
      let pending = false;
      async function more() {
        if (pending) return;
        pending = true;
        try {
          const res = await api("DownloadDBLogFilePortion", { DBInstanceIdentifier: db.DBInstanceIdentifier, LogFileName: name, Marker: marker, NumberOfLines: 1000 });
          pre.append(res.LogFileData || "");
          if (res.Marker) marker = res.Marker;
          pre.scrollTop = pre.scrollHeight;
        } catch (e) {
          showError(e);
        } finally {
          pending = false;
        }
      }
      clear(viewer).append(el("div", { class: "log-head" }, el("h4", { text: name }), btn("Load newer lines", more, "small"), btn("Close", () => clear(viewer), "small")), pre);
      await more();
    }
    try {
      const ev = await apiAll("DescribeEvents", { SourceType: "db-instance", SourceIdentifier: db.DBInstanceIdentifier, Duration: 20160 }, "Events");
      clear(events).appendChild(eventsTable(ev.reverse(), false));
    } catch (e) {
      clear(events);
      showError(e);
    }
  }

  function eventsTable(list, withSource = true) {
    return dataTable({
      label: "Events",
      columns: [
        withSource ? { title: "Source", render: (e) => (e.SourceType === "db-instance" ? el("a", { href: `#/databases/${encodeURIComponent(e.SourceIdentifier)}` }, e.SourceIdentifier) : e.SourceIdentifier) } : null,
        withSource ? { title: "Type", render: (e) => sourceTypeName(e.SourceType) } : null,
        { title: "Time", render: (e) => fmtTime(e.Date) },
        { title: "Message", class: "col-message", render: (e) => e.Message },
      ].filter(Boolean),
      rows: list,
      empty: "No events.",
    });
  }
  function sourceTypeName(t) {
    return ({ "db-instance": "Instances", "db-snapshot": "Snapshots", "db-parameter-group": "Parameter groups", "db-security-group": "Security groups" })[t] || t;
  }

  function tabConfiguration(panel, db) {
    const pgs = (db.DBParameterGroups || []).map((g) => el("span", {}, el("a", { href: `#/parameter-groups/${encodeURIComponent(g.DBParameterGroupName)}` }, g.DBParameterGroupName), ` (${g.ParameterApplyStatus})`));
    panel.append(el("div", { class: "cols" },
      el("section", {}, el("h3", { text: "Configuration" }), keyValueList([
        ["DB instance ID", db.DBInstanceIdentifier], ["Engine version", db.EngineVersion], ["DB name", db.DBName],
        ["License model", db.LicenseModel], ["Option groups", (db.OptionGroupMemberships || []).map((o) => `${o.OptionGroupName} (${o.Status})`).join(", ")],
        ["Amazon Resource Name (ARN)", db.DBInstanceArn], ["Resource ID", db.DbiResourceId], ["Created time", fmtTime(db.InstanceCreateTime)],
        ["Parameter group", pgs.length ? el("span", {}, pgs) : "-"], ["Deletion protection", db.DeletionProtection ? "Enabled" : "Disabled"],
      ])),
      el("section", {}, el("h3", { text: "Instance class" }), keyValueList([
        ["Instance class", db.DBInstanceClass], ["Multi-AZ", yesNo(db.MultiAZ)], ["Secondary zone", db.SecondaryAvailabilityZone],
        ["Master username", db.MasterUsername], ["IAM DB authentication", db.IAMDatabaseAuthenticationEnabled ? "Enabled" : "Not enabled"],
      ])),
      el("section", {}, el("h3", { text: "Storage" }), keyValueList([
        ["Encryption", db.StorageEncrypted ? "Enabled" : "Not enabled"], ["Storage type", db.StorageType],
        ["Storage", db.AllocatedStorage !== undefined ? `${db.AllocatedStorage} GiB` : "-"], ["Provisioned IOPS", db.Iops],
        ["Storage autoscaling", db.MaxAllocatedStorage ? `Enabled (max ${db.MaxAllocatedStorage} GiB)` : "Disabled"],
      ]))));
    if (db.PendingModifiedValues && Object.keys(db.PendingModifiedValues).length) {
      panel.append(el("h3", { text: "Pending modifications" }), keyValueList(Object.entries(db.PendingModifiedValues).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)])));
    }
  }

  async function tabMaintenance(panel, db, setRefresh) {
    const win = await restoreWindow(db);
    const snaps = el("div", {}, loading());
    panel.append(el("div", { class: "cols" },
      el("section", {}, el("h3", { text: "Backup" }), keyValueList([
        ["Automated backups", db.BackupRetentionPeriod > 0 ? `Enabled (${db.BackupRetentionPeriod} Days)` : "Disabled"],
        ["Backup retention period", `${db.BackupRetentionPeriod ?? 0} days`],
        ["Backup window", db.PreferredBackupWindow],
        ["Copy tags to snapshots", db.CopyTagsToSnapshot ? "Enabled" : "Disabled"],
        ["Earliest restorable time", fmtTime(win.earliest)],
        ["Latest restorable time", fmtTime(db.LatestRestorableTime || win.latest)],
      ])),
      el("section", {}, el("h3", { text: "Maintenance" }), keyValueList([
        ["Auto minor version upgrade", db.AutoMinorVersionUpgrade ? "Enabled" : "Disabled"],
        ["Maintenance window", db.PreferredMaintenanceWindow],
        ["Pending modifications", db.PendingModifiedValues && Object.keys(db.PendingModifiedValues).length ? Object.keys(db.PendingModifiedValues).join(", ") : "None"],
      ]))),
    el("div", { class: "section-head" }, el("h3", { text: "Snapshots" }), btn("Take snapshot", () => takeSnapshotDialog(db, load), null)), snaps);
    async function load() {
      try {
        const list = await apiAll("DescribeDBSnapshots", { DBInstanceIdentifier: db.DBInstanceIdentifier }, "DBSnapshots");
        clear(snaps).appendChild(snapshotsTable(list, false));
      } catch (e) {
        showError(e);
      }
    }
    await load();
    let n = 0;
    setRefresh(() => { if (++n % 3 === 0) return load(); });
  }

  async function tabTags(panel, db) {
    let selected = null;
    const holder = el("div", {}, loading());
    const removeBtn = btn("Remove tags", () => remove(), null, { disabled: true });
    panel.append(el("div", { class: "section-head" }, el("h3", { text: "Tags" }), el("div", { class: "page-actions" }, removeBtn, btn("Add tags", () => add()))), holder);
    async function load() {
      try {
        const res = await api("ListTagsForResource", { ResourceName: db.DBInstanceArn });
        const tags = res.TagList || [];
        if (!tags.some((t) => t.Key === selected)) selected = null;
        removeBtn.disabled = !selected;
        clear(holder).appendChild(dataTable({
          label: "Tags", columns: [{ title: "Key", key: "Key" }, { title: "Value", key: "Value" }], rows: tags,
          keyOf: (t) => t.Key, selectable: true, selected, onSelect: (k) => { selected = k; removeBtn.disabled = false; }, empty: "No tags.",
        }));
      } catch (e) {
        clear(holder);
        showError(e);
      }
    }
    function add() {
      const k = textField("Key");
      const v = textField("Value");
      openDialog({
        title: "Add tags", body: [k.node, v.node], primary: "Add",
        onSubmit: async () => {
          await api("AddTagsToResource", { ResourceName: db.DBInstanceArn, "Tags.Tag.1.Key": k.input.value, "Tags.Tag.1.Value": v.input.value });
          showNotice(`Added tag ${k.input.value}.`);
          await load();
        },
      });
    }
    function remove() {
      if (!selected) return;
      const key = selected;
      confirmDialog("Remove tags", `Remove the tag ${key} from ${db.DBInstanceIdentifier}?`, "Remove", async () => {
        await api("RemoveTagsFromResource", { ResourceName: db.DBInstanceArn, "TagKeys.member.1": key });
        showNotice(`Removed tag ${key}.`);
        await load();
      }, true);
    }
    await load();
  }

  // ---------------------------------------------------------------- Snapshots
  function snapshotsTable(list, selectable, selected, onSelect) {
    return dataTable({
      label: "Snapshots",
      columns: [
        { title: "Snapshot name", render: (s) => s.DBSnapshotIdentifier },
        { title: "DB instance or cluster", render: (s) => el("a", { href: `#/databases/${encodeURIComponent(s.DBInstanceIdentifier)}` }, s.DBInstanceIdentifier) },
        { title: "Snapshot creation time", render: (s) => fmtTime(s.SnapshotCreateTime) },
        { title: "Status", render: (s) => statusBadge(s.Status) },
        { title: "Progress", render: (s) => (s.PercentProgress !== undefined ? el("span", { class: "progress" }, el("progress", { max: 100, value: s.PercentProgress, "aria-label": `Progress of ${s.DBSnapshotIdentifier}` }), ` ${s.PercentProgress}%`) : "-") },
        { title: "Type", render: (s) => (s.SnapshotType === "automated" ? "Automated" : s.SnapshotType === "manual" ? "Manual" : dash(s.SnapshotType)) },
      ],
      rows: [...list].sort((a, b) => String(b.SnapshotCreateTime || "").localeCompare(String(a.SnapshotCreateTime || ""))),
      keyOf: (s) => s.DBSnapshotIdentifier,
      selectable, selected, onSelect,
      empty: "No snapshots.",
    });
  }

  builtin("snapshots", "Snapshots", async (container) => {
    let kind = "manual";
    let selected = null;
    let list = [];
    const holder = el("div", {}, loading());
    const count = el("span", { class: "count" });
    const snap = () => list.find((s) => s.DBSnapshotIdentifier === selected);
    const menu = actionsMenu("Actions", () => {
      const s = snap();
      const ok = s && s.Status === "available";
      return [
        { label: "Restore snapshot", disabled: !ok, run: () => restoreSnapshotDialog(s) },
        { label: "Copy snapshot", disabled: !ok, run: () => copySnapshotDialog(s) },
        { label: "Share snapshot", disabled: !ok || s.SnapshotType !== "manual", run: () => shareSnapshotDialog(s) },
        { label: "Delete snapshot", disabled: !s || s.SnapshotType !== "manual", run: () => deleteSnapshotDialog(s) },
      ];
    });
    container.append(el("div", { class: "page-header" }, el("h1", {}, "Snapshots ", count),
      el("div", { class: "page-actions" }, btn("Refresh", () => load(true)), menu.node, btn("Take snapshot", () => takeSnapshotPicker(), "primary"))));
    const t = tabs("Snapshot type", [{ id: "manual", title: "Manual" }, { id: "automated", title: "System" }], null, (id, panel) => {
      kind = id;
      selected = null;
      panel.appendChild(holder);
      load(true);
    });
    container.append(el("div", { class: "panel" }, t.list, t.panel));
    async function load(userAsked) {
      try {
        list = await apiAll("DescribeDBSnapshots", { SnapshotType: kind }, "DBSnapshots");
      } catch (e) {
        if (userAsked) showError(e);
        return;
      }
      if (!list.some((s) => s.DBSnapshotIdentifier === selected)) selected = null;
      count.textContent = `(${list.length})`;
      swap(holder, [kind, list], () => snapshotsTable(list, true, selected, (k) => { selected = k; }));
    }
    t.activate("manual", false);
    onTick(() => load(false));
    async function takeSnapshotPicker() {
      const dbs = await describeInstances();
      if (!dbs.length) {
        showError({ code: "DBInstanceNotFound", message: "There is no DB instance to take a snapshot of." });
        return;
      }
      const pick = selectField("DB instance", dbs.map((d) => d.DBInstanceIdentifier), dbs[0].DBInstanceIdentifier);
      const name = textField("Snapshot name", { hint: "The identifier for the DB snapshot." });
      openDialog({
        title: "Take DB snapshot", body: [pick.node, name.node], primary: "Take snapshot",
        onSubmit: async () => {
          const id = name.input.value.trim();
          const err = checkSnapshotIdentifier("DBSnapshotIdentifier", id);
          fieldError(name.input, err);
          if (err) throw { code: "InvalidParameterValue", message: err };
          await api("CreateDBSnapshot", { DBInstanceIdentifier: pick.input.value, DBSnapshotIdentifier: id });
          showNotice(`Creating snapshot ${id}.`);
          load(true);
        },
      });
    }
    function restoreSnapshotDialog(s) {
      const target = textField("DB instance identifier", { hint: "The name of the new DB instance, unique in this Region." });
      const cls = selectField("DB instance class", INSTANCE_CLASSES, "db.t3.micro");
      const multi = checkField("Multi-AZ DB instance", false);
      const pub = checkField("Public access", false);
      openDialog({
        title: "Restore snapshot",
        body: [keyValueList([["Snapshot", s.DBSnapshotIdentifier], ["Engine", `${engineName(s.Engine)} ${s.EngineVersion || ""}`]]), target.node, cls.node, multi.node, pub.node],
        primary: "Restore DB instance",
        onSubmit: async () => {
          const id = target.input.value.trim();
          const err = checkIdentifier("DBInstanceIdentifier", id);
          fieldError(target.input, err);
          if (err) throw { code: "InvalidParameterValue", message: err };
          await api("RestoreDBInstanceFromDBSnapshot", { DBInstanceIdentifier: id, DBSnapshotIdentifier: s.DBSnapshotIdentifier, DBInstanceClass: cls.input.value, MultiAZ: multi.input.checked, PubliclyAccessible: pub.input.checked });
          showNotice(`Restoring ${id} from snapshot ${s.DBSnapshotIdentifier}.`);
          navigate("#/databases");
        },
      });
    }
    function copySnapshotDialog(s) {
      const target = textField("New DB snapshot identifier", { value: `${s.DBSnapshotIdentifier.replace(/^rds:/, "")}-copy` });
      const tags = checkField("Copy tags", true);
      openDialog({
        title: "Copy snapshot", body: [keyValueList([["Source snapshot", s.DBSnapshotIdentifier]]), target.node, tags.node], primary: "Copy snapshot",
        onSubmit: async () => {
          const id = target.input.value.trim();
          const err = checkSnapshotIdentifier("TargetDBSnapshotIdentifier", id);
          fieldError(target.input, err);
          if (err) throw { code: "InvalidParameterValue", message: err };
          await api("CopyDBSnapshot", { SourceDBSnapshotIdentifier: s.DBSnapshotIdentifier, TargetDBSnapshotIdentifier: id, CopyTags: tags.input.checked });
          showNotice(`Copying ${s.DBSnapshotIdentifier} to ${id}.`);
          load(true);
        },
      });
    }
    async function shareSnapshotDialog(s) {
      let current = [];
      try {
        const res = await api("DescribeDBSnapshotAttributes", { DBSnapshotIdentifier: s.DBSnapshotIdentifier });
        const attrs = (res.DBSnapshotAttributesResult || {}).DBSnapshotAttributes || [];
        current = ((attrs.find((a) => a.AttributeName === "restore") || {}).AttributeValues) || [];
      } catch (e) {
        showError(e);
      }
      const vis = radioGroup("DB snapshot visibility", "share-vis", [["private", "Private"], ["public", "Public"]], current.includes("all") ? "public" : "private");
      const acct = textField("AWS account ID", { hint: "12 digits: the account that may restore this snapshot." });
      const list = el("ul", { class: "plain-list" }, current.filter((a) => a !== "all").map((a) => el("li", { text: a })));
      openDialog({
        title: `Share snapshot ${s.DBSnapshotIdentifier}`,
        body: [vis.node, acct.node, el("h3", { text: "Accounts with access" }), current.filter((a) => a !== "all").length ? list : el("p", { text: "None." })],
        primary: "Save",
        onSubmit: async () => {
          const params = { DBSnapshotIdentifier: s.DBSnapshotIdentifier, AttributeName: "restore" };
          let i = 1;
          const add = (v) => { params[`ValuesToAdd.AttributeValue.${i++}`] = v; };
          if (vis.value === "public" && !current.includes("all")) add("all");
          if (vis.value === "private" && current.includes("all")) params["ValuesToRemove.AttributeValue.1"] = "all";
          if (acct.input.value.trim()) add(acct.input.value.trim());
          if (Object.keys(params).length === 2) return true;
          await api("ModifyDBSnapshotAttribute", params);
          showNotice(`Updated the sharing of ${s.DBSnapshotIdentifier}.`);
        },
      });
    }
    function deleteSnapshotDialog(s) {
      confirmDialog("Delete snapshot", `Delete the snapshot ${s.DBSnapshotIdentifier}? This cannot be undone.`, "Delete", async () => {
        await api("DeleteDBSnapshot", { DBSnapshotIdentifier: s.DBSnapshotIdentifier });
        showNotice(`Deleting snapshot ${s.DBSnapshotIdentifier}.`);
        load(true);
      }, true);
    }
  });

  // ---------------------------------------------------------------- Automated backups
  builtin("automated-backups", "Automated backups", async (container) => {
    let kind = "current";
    let selected = null;
    let list = [];
    const holder = el("div", {}, loading());
    const item = () => list.find((b) => b.DbiResourceId === selected);
    const menu = actionsMenu("Actions", () => {
      const b = item();
      return [
        { label: "Restore to point in time", disabled: !b, run: () => restoreFromBackup(b) },
        { label: "Delete", disabled: !b || b.Status !== "retained", run: () => deleteBackup(b) },
      ];
    });
    container.append(el("div", { class: "page-header" }, el("h1", { text: "Automated backups" }), el("div", { class: "page-actions" }, btn("Refresh", () => load(true)), menu.node)));
    const t = tabs("Automated backups", [{ id: "current", title: "Current" }, { id: "retained", title: "Retained" }], null, (id, panel) => {
      kind = id;
      selected = null;
      panel.appendChild(holder);
      load(true);
    });
    container.append(el("div", { class: "panel" }, t.list, t.panel));
    async function load(userAsked) {
      try {
        const all = await apiAll("DescribeDBInstanceAutomatedBackups", {}, "DBInstanceAutomatedBackups");
        list = all.filter((b) => (kind === "retained" ? b.Status === "retained" : b.Status !== "retained"));
      } catch (e) {
        if (userAsked) showError(e);
        return;
      }
      if (!list.some((b) => b.DbiResourceId === selected)) selected = null;
      swap(holder, [kind, list], () => dataTable({
        label: "Automated backups",
        columns: [
          { title: "DB instance", render: (b) => (kind === "current" ? el("a", { href: `#/databases/${encodeURIComponent(b.DBInstanceIdentifier)}` }, b.DBInstanceIdentifier) : b.DBInstanceIdentifier) },
          { title: "Status", render: (b) => statusBadge(b.Status) },
          { title: "Engine", render: (b) => `${engineName(b.Engine)} ${b.EngineVersion || ""}` },
          { title: "Earliest restorable time", render: (b) => fmtTime((b.RestoreWindow || {}).EarliestTime) },
          { title: "Latest restorable time", render: (b) => fmtTime((b.RestoreWindow || {}).LatestTime) },
          { title: "Backup retention period", render: (b) => (b.BackupRetentionPeriod !== undefined ? `${b.BackupRetentionPeriod} days` : "-") },
          { title: "Region", render: (b) => b.Region },
        ],
        rows: list, keyOf: (b) => b.DbiResourceId, selectable: true, selected, onSelect: (k) => { selected = k; },
        empty: kind === "retained" ? "No retained automated backups." : "No automated backups.",
      }));
    }
    t.activate("current", false);
    onTick(() => load(false));
    function restoreFromBackup(b) {
      const pseudo = { DBInstanceIdentifier: b.DBInstanceIdentifier, DBInstanceClass: b.DBInstanceClass || "db.t3.micro", LatestRestorableTime: (b.RestoreWindow || {}).LatestTime };
      const params = b.Status === "retained" ? { SourceDbiResourceId: b.DbiResourceId } : { SourceDBInstanceIdentifier: b.DBInstanceIdentifier };
      restorePitrDialog(pseudo, () => load(true), { window: { earliest: (b.RestoreWindow || {}).EarliestTime, latest: (b.RestoreWindow || {}).LatestTime }, params });
    }
    function deleteBackup(b) {
      confirmDialog("Delete retained automated backup", `Delete the retained automated backups of ${b.DBInstanceIdentifier}? Point-in-time restore from them will no longer be possible.`, "Delete", async () => {
        await api("DeleteDBInstanceAutomatedBackup", { DbiResourceId: b.DbiResourceId });
        showNotice(`Deleting the retained backups of ${b.DBInstanceIdentifier}.`);
        load(true);
      }, true);
    }
  });

  // ---------------------------------------------------------------- Events
  builtin("events", "Events", async (container) => {
    const filterId = ui.uid("flt");
    const filter = el("input", { id: filterId, type: "search", placeholder: "Filter events", class: "filter" });
    const typeSel = selectField("Source type", [["", "All"], ["db-instance", "Instances"], ["db-snapshot", "Snapshots"], ["db-parameter-group", "Parameter groups"]], "");
    const holder = el("div", {}, loading());
    container.append(pageHeader("Events", btn("Refresh", () => load(true))),
      el("div", { class: "panel" }, el("div", { class: "toolbar" }, el("label", { for: filterId, class: "sr-only", text: "Filter events" }), filter, typeSel.node), holder));
    let events = [];
    function draw() {
      const q = filter.value.trim().toLowerCase();
      const rows = events.filter((e) => !q || `${e.SourceIdentifier} ${e.Message}`.toLowerCase().includes(q));
      swap(holder, rows, () => eventsTable(rows));
    }
    async function load(userAsked) {
      try {
        const ev = await apiAll("DescribeEvents", { Duration: 20160, SourceType: typeSel.input.value || undefined }, "Events");
        events = ev.reverse();
        draw();
      } catch (e) {
        if (userAsked) showError(e);
      }
    }
    filter.addEventListener("input", draw);
    typeSel.input.addEventListener("change", () => load(true));
    await load(true);
    onTick(() => load(false));
  });

  // ---------------------------------------------------------------- Dashboard
  builtin("dashboard", "Dashboard", async (container) => {
    const counts = el("div", { class: "cards" });
    const recent = el("div", {}, loading());
    container.append(pageHeader("Dashboard", btn("Create database", () => navigate("#/create-database"), "primary")),
      el("section", { class: "panel" }, el("h2", { text: `Resources in ${LC.region()}` }), counts),
      el("section", { class: "panel" }, el("div", { class: "section-head" }, el("h2", { text: "Recent events" }), el("a", { href: "#/events" }, "View all events")), recent));
    async function load(userAsked) {
      try {
        const [dbs, manual, automated, events, pgs, sgs, ogs] = await Promise.all([
          describeInstances(),
          apiAll("DescribeDBSnapshots", { SnapshotType: "manual" }, "DBSnapshots"),
          apiAll("DescribeDBSnapshots", { SnapshotType: "automated" }, "DBSnapshots"),
          apiAll("DescribeEvents", { Duration: 1440 }, "Events"),
          apiAll("DescribeDBParameterGroups", {}, "DBParameterGroups").catch(() => []),
          apiAll("DescribeDBSubnetGroups", {}, "DBSubnetGroups").catch(() => []),
          apiAll("DescribeOptionGroups", {}, "OptionGroupsList").catch(() => []),
        ]);
        const running = dbs.filter((d) => d.DBInstanceStatus === "available").length;
        const card = (title, value, href, sub) => el("a", { class: "card", href }, el("span", { class: "card-title", text: title }), el("span", { class: "card-value", text: String(value) }), sub ? el("span", { class: "card-sub", text: sub }) : null);
        clear(counts).append(
          card("DB Instances", dbs.length, "#/databases", `${running} available`),
          card("Read replicas", dbs.filter((d) => d.ReadReplicaSourceDBInstanceIdentifier).length, "#/databases"),
          card("Snapshots", manual.length + automated.length, "#/snapshots", `Manual ${manual.length} · System ${automated.length}`),
          card("Recent events", events.length, "#/events", "last 24 hours"),
          card("Parameter groups", pgs.length, "#/parameter-groups"),
          card("Subnet groups", sgs.length, "#/subnet-groups"),
          card("Option groups", ogs.length, "#/option-groups"));
        const latest = events.reverse().slice(0, 10);
        swap(recent, latest, () => eventsTable(latest));
      } catch (e) {
        if (userAsked) showError(e);
      }
    }
    await load(true);
    onTick(() => load(false));
  });

  // ---------------------------------------------------------------- groups
  function groupPage({ id, title, action, listKey, nameKey, columns, createFields, create, del, link }) {
    builtin(id, title, async (container, args) => {
      if (args.length && link) return link(container, args[0]);
      let selected = null;
      let list = [];
      const holder = el("div", {}, loading());
      const count = el("span", { class: "count" });
      const delBtn = btn("Delete", () => {
        const g = list.find((x) => x[nameKey] === selected);
        if (!g) return;
        confirmDialog(`Delete ${title.toLowerCase().replace(/s$/, "")}`, `Delete ${selected}?`, "Delete", async () => {
          await del(g);
          showNotice(`Deleted ${g[nameKey]}.`);
          load(true);
        }, true);
      }, null, { disabled: true });
      container.append(el("div", { class: "page-header" }, el("h1", {}, `${title} `, count),
        el("div", { class: "page-actions" }, btn("Refresh", () => load(true)), delBtn, btn(`Create ${title.toLowerCase().replace(/s$/, "")}`, () => openCreate(), "primary"))),
      el("div", { class: "panel" }, holder));
      async function load(userAsked) {
        try {
          list = await apiAll(action, {}, listKey);
        } catch (e) {
          if (userAsked) showError(e);
          return;
        }
        if (!list.some((g) => g[nameKey] === selected)) selected = null;
        delBtn.disabled = !selected || (list.find((g) => g[nameKey] === selected)[nameKey] || "").startsWith("default");
        count.textContent = `(${list.length})`;
        swap(holder, list, () => dataTable({
          label: title, columns, rows: list, keyOf: (g) => g[nameKey], selectable: true, selected,
          onSelect: (k) => { selected = k; delBtn.disabled = k.startsWith("default"); },
        }));
      }
      async function openCreate() {
        const fields = await createFields();
        openDialog({
          title: `Create ${title.toLowerCase().replace(/s$/, "")}`,
          body: fields.map((f) => f.node), primary: "Create",
          onSubmit: async () => {
            await create(fields);
            showNotice(`Created ${fields[0].input.value.trim()}.`);
            load(true);
          },
        });
      }
      await load(true);
    });
  }

  async function families() {
    try {
      const res = await api("DescribeDBEngineVersions", { Engine: "postgres" });
      const fams = [...new Set((res.DBEngineVersions || []).map((v) => v.DBParameterGroupFamily).filter(Boolean))];
      return fams.length ? fams : ["postgres15"];
    } catch (e) {
      return ["postgres15"];
    }
  }

  groupPage({
    id: "parameter-groups", title: "Parameter groups", action: "DescribeDBParameterGroups", listKey: "DBParameterGroups", nameKey: "DBParameterGroupName",
    columns: [
      { title: "Name", render: (g) => el("a", { href: `#/parameter-groups/${encodeURIComponent(g.DBParameterGroupName)}` }, g.DBParameterGroupName) },
      { title: "Family", render: (g) => g.DBParameterGroupFamily },
      { title: "Type", render: (g) => (g.DBParameterGroupName.startsWith("default.") ? "Default" : "Custom") },
      { title: "Description", render: (g) => g.Description },
    ],
    createFields: async () => {
      const fams = await families();
      return [textField("Parameter group name"), selectField("Parameter group family", fams, fams[fams.length - 1]), textField("Description")];
    },
    create: ([n, f, d]) => api("CreateDBParameterGroup", { DBParameterGroupName: n.input.value.trim(), DBParameterGroupFamily: f.input.value, Description: d.input.value.trim() || n.input.value.trim() }),
    del: (g) => api("DeleteDBParameterGroup", { DBParameterGroupName: g.DBParameterGroupName }),
    link: renderParameterGroup,
  });

  groupPage({
    id: "subnet-groups", title: "Subnet groups", action: "DescribeDBSubnetGroups", listKey: "DBSubnetGroups", nameKey: "DBSubnetGroupName",
    columns: [
      { title: "Name", render: (g) => g.DBSubnetGroupName },
      { title: "Description", render: (g) => g.DBSubnetGroupDescription },
      { title: "Status", render: (g) => statusBadge(g.SubnetGroupStatus) },
      { title: "VPC", render: (g) => g.VpcId },
      { title: "Subnets", render: (g) => (g.Subnets || []).map((s) => `${s.SubnetIdentifier} (${(s.SubnetAvailabilityZone || {}).Name || "-"})`).join(", ") },
    ],
    createFields: async () => [textField("Name"), textField("Description"), textField("Subnet IDs", { hint: "Comma-separated, e.g. subnet-0a1b2c3d, subnet-4e5f6a7b" })],
    create: ([n, d, s]) => {
      const params = { DBSubnetGroupName: n.input.value.trim(), DBSubnetGroupDescription: d.input.value.trim() || n.input.value.trim() };
      s.input.value.split(",").map((x) => x.trim()).filter(Boolean).forEach((x, i) => { params[`SubnetIds.SubnetIdentifier.${i + 1}`] = x; });
      return api("CreateDBSubnetGroup", params);
    },
    del: (g) => api("DeleteDBSubnetGroup", { DBSubnetGroupName: g.DBSubnetGroupName }),
  });

  groupPage({
    id: "option-groups", title: "Option groups", action: "DescribeOptionGroups", listKey: "OptionGroupsList", nameKey: "OptionGroupName",
    columns: [
      { title: "Name", render: (g) => g.OptionGroupName },
      { title: "Description", render: (g) => g.OptionGroupDescription },
      { title: "Engine", render: (g) => engineName(g.EngineName) },
      { title: "Major engine version", render: (g) => g.MajorEngineVersion },
      { title: "Options", render: (g) => (g.Options || []).map((o) => o.OptionName).join(", ") },
    ],
    createFields: async () => {
      const fams = await families();
      const majors = fams.map((f) => f.replace("postgres", ""));
      return [textField("Name"), textField("Description"), selectField("Major engine version", majors, majors[majors.length - 1])];
    },
    create: ([n, d, v]) => api("CreateOptionGroup", { OptionGroupName: n.input.value.trim(), OptionGroupDescription: d.input.value.trim() || n.input.value.trim(), EngineName: "postgres", MajorEngineVersion: v.input.value }),
    del: (g) => api("DeleteOptionGroup", { OptionGroupName: g.OptionGroupName }),
  });

  async function renderParameterGroup(container, name) {
    container.append(el("nav", { class: "breadcrumbs", "aria-label": "Breadcrumbs" }, el("a", { href: "#/parameter-groups" }, "Parameter groups"), ` \u203a ${name}`));
    const holder = el("div", {}, loading());
    let editing = false;
    let params = [];
    const edits = new Map();
    const filterId = ui.uid("flt");
    const filter = el("input", { id: filterId, type: "search", placeholder: "Filter parameters", class: "filter" });
    const editBtn = btn("Edit", () => { editing = true; draw(); toggle(); }, "primary");
    const saveBtn = btn("Save changes", () => save(), "primary", { hidden: true });
    const cancelBtn = btn("Cancel", () => { editing = false; edits.clear(); draw(); toggle(); }, null, { hidden: true });
    const isDefault = name.startsWith("default.");
    editBtn.disabled = isDefault;
    if (isDefault) editBtn.title = "A default parameter group cannot be modified";
    container.append(el("div", { class: "page-header" }, el("h1", { text: name }), el("div", { class: "page-actions" }, cancelBtn, saveBtn, editBtn)));
    let group = {};
    try {
      group = (await api("DescribeDBParameterGroups", { DBParameterGroupName: name })).DBParameterGroups[0] || {};
    } catch (e) {
      showError(e);
      return;
    }
    container.append(el("div", { class: "panel" }, keyValueList([["Parameter group name", group.DBParameterGroupName], ["Family", group.DBParameterGroupFamily], ["Description", group.Description], ["ARN", group.DBParameterGroupArn]])),
      el("div", { class: "panel" }, el("div", { class: "toolbar" }, el("label", { for: filterId, class: "sr-only", text: "Filter parameters" }), filter), holder));
    function toggle() {
      editBtn.hidden = editing;
      saveBtn.hidden = !editing;
      cancelBtn.hidden = !editing;
    }
    function draw() {
      const q = filter.value.trim().toLowerCase();
      const rows = params.filter((p) => !q || p.ParameterName.toLowerCase().includes(q) || String(p.Description || "").toLowerCase().includes(q));
      clear(holder).appendChild(dataTable({
        label: "Parameters",
        columns: [
          { title: "Name", render: (p) => p.ParameterName },
          { title: "Value", render: (p) => {
            if (!editing || !p.IsModifiable) return dash(p.ParameterValue);
            const input = el("input", { type: "text", class: "param-input", value: edits.has(p.ParameterName) ? edits.get(p.ParameterName) : (p.ParameterValue ?? ""), "aria-label": `Value of ${p.ParameterName}`, placeholder: "engine default" });
            input.addEventListener("input", () => edits.set(p.ParameterName, input.value));
            return input;
          } },
          { title: "Allowed values", render: (p) => p.AllowedValues },
          { title: "Modifiable", render: (p) => (p.IsModifiable ? "true" : "false") },
          { title: "Source", render: (p) => p.Source },
          { title: "Apply type", render: (p) => p.ApplyType },
          { title: "Data type", render: (p) => p.DataType },
          { title: "Description", class: "col-message", render: (p) => p.Description },
        ],
        rows: rows.slice(0, 400), empty: "No parameters match.",
      }));
      if (rows.length > 400) holder.appendChild(el("p", { class: "hint", text: `Showing 400 of ${rows.length}; filter to find the others.` }));
    }
    async function load() {
      params = await apiAll("DescribeDBParameters", { DBParameterGroupName: name, MaxRecords: 100 }, "Parameters");
      draw();
    }
    async function save() {
      const changed = [...edits.entries()].filter(([k, v]) => {
        const p = params.find((x) => x.ParameterName === k);
        return p && String(p.ParameterValue ?? "") !== v;
      });
      if (!changed.length) {
        editing = false;
        draw();
        toggle();
        return;
      }
      try {
        for (let i = 0; i < changed.length; i += 20) {
          const q = { DBParameterGroupName: name };
          changed.slice(i, i + 20).forEach(([k, v], j) => {
            const p = params.find((x) => x.ParameterName === k);
            const n = j + 1;
            q[`Parameters.Parameter.${n}.ParameterName`] = k;
            q[`Parameters.Parameter.${n}.ParameterValue`] = v;
            q[`Parameters.Parameter.${n}.ApplyMethod`] = p.ApplyType === "static" ? "pending-reboot" : "immediate";
          });
          await api("ModifyDBParameterGroup", q);
        }
        showNotice(`Modified ${changed.length} parameter${changed.length === 1 ? "" : "s"} of ${name}.`);
        editing = false;
        edits.clear();
        toggle();
        await load();
      } catch (e) {
        showError(e);
      }
    }
    filter.addEventListener("input", draw);
    try {
      await load();
    } catch (e) {
      clear(holder);
      showError(e);
    }
  }
})();
