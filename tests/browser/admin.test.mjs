// Browser tests of the admin center: Debian's chromium driven by playwright-core, against the
// real `skuld serve --demo` that scripts/browser starts. Each test signs in through the sign-in
// page as a person does and fails on any Content-Security-Policy violation or page error.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";

const URL = process.env.SKULD_URL;
const UPN = process.env.SKULD_ADMIN_UPN;
const PASSWORD = process.env.SKULD_ADMIN_PASSWORD;
const WORK = process.env.SKULD_BROWSER_WORK || mkdtempSync("/tmp/skuld-browser-");
const SHOTS = process.env.SKULD_SCREENSHOTS || "";

let context;
const problems = [];

before(async () => {
  // A fresh profile every run (--user-data-dir), flags as the issue lists them.
  const profile = mkdtempSync(join(WORK, "profile-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.SKULD_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context.setDefaultTimeout(15000);
});

after(async () => {
  await context?.close();
});

/** A new page that records console errors (CSP violations among them) and page errors. */
async function newPage() {
  problems.length = 0;
  const page = await context.newPage();
  page.on("console", (m) => {
    // A form answered on its page with 400 (a refusal the admin can fix) is logged by chromium
    // as a failed load; failed sub-resources are caught below instead.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      problems.push(`${page.url()}: console: ${m.text()}`);
    }
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && r.request().resourceType() !== "document") {
      problems.push(`${page.url()}: ${r.request().resourceType()} ${r.url()}: ${r.status()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`${page.url()}: page error: ${e.message}`));
  return page;
}

function assertClean() {
  const p = problems.splice(0);
  assert.deepEqual(p, [], "the pages logged errors");
}

async function shot(page, name) {
  const dir = SHOTS || join(WORK, "screenshots");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
}

async function signIn(page, upn = UPN, password = PASSWORD) {
  await page.goto(`${URL}/`);
  await page.getByLabel("Email, phone, or Skype").fill(upn);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a newcomer signs in with the printed password and lands on Home", async () => {
  const page = await newPage();
  await page.goto(`${URL}/`);
  assert.match(page.url(), /\/signin/);
  await shot(page, "signin");
  // A wrong password is told plainly.
  await signIn(page, UPN, "not-the-password");
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /incorrect/);
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  assert.ok(await page.getByRole("link", { name: /Office 365 E3/ }).first().isVisible());
  await shot(page, "home");
  assertClean();
  await page.close();
});

test("the sign-in form works from the keyboard alone", async () => {
  const page = await newPage();
  await context.clearCookies();
  await page.goto(`${URL}/signin`);
  // The user name box takes the focus by itself (autofocus); then only keys are used.
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "username");
  await page.keyboard.type(UPN);
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  assertClean();
  await page.close();
});

test("every page of the navigation opens without errors, at desktop and phone width", async () => {
  const page = await newPage();
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  const nav = page.getByRole("navigation", { name: "Admin center" });
  const links = await nav.getByRole("link").evaluateAll((as) => as.map((a) => [a.textContent.trim(), a.getAttribute("href")]));
  assert.ok(links.length >= 3, `navigation: ${JSON.stringify(links)}`);
  for (const [label, href] of links) {
    const r = await page.goto(`${URL}${href}`);
    assert.equal(r.status(), 200, `${label} (${href})`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    const slug = href === "/" ? "home" : href.slice(1).replaceAll("/", "-");
    await shot(page, slug);
  }
  // A phone's width: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [, href] of links) {
    await page.goto(`${URL}${href}`);
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(over <= 1, `${href} is ${over}px wider than a phone`);
  }
  await page.goto(`${URL}/`);
  await shot(page, "home-phone");
  await page.setViewportSize({ width: 1280, height: 800 });
  assertClean();
  await page.close();
});

test("a License Administrator's flow: assign Office 365 E1 to a new user with the type-ahead", async () => {
  // The CLI beside the server, on the same database, adds the user (the server sees it at once).
  cli("user", "add", "zoe.browser@contoso.test", "--name", "Zoe Browser", "--location", "US");
  const page = await newPage();
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.getByRole("link", { name: "Licenses", exact: true }).click();
  await page.getByRole("link", { name: "Office 365 E1" }).click();
  await page.getByRole("heading", { level: 1, name: /Office 365 E1/ }).waitFor();
  await shot(page, "product");
  await page.goto(`${URL}/licenses/STANDARDPACK/assign`);
  await page.getByLabel("Find a user").pressSequentially("zoe", { delay: 30 });
  await page.locator("button[data-pick]", { hasText: "Zoe Browser" }).click();
  await page.locator(".chip", { hasText: "Zoe Browser" }).waitFor();
  await shot(page, "assign");
  await page.getByRole("button", { name: "Assign" }).click();
  await page.getByRole("status").filter({ hasText: "got Office 365 E1" }).waitFor();
  assert.match(await page.locator("main").innerText(), /Zoe Browser|zoe\.browser@contoso\.test/);
  await shot(page, "assign-results");
  // The product's Users tab lists her now, assigned directly.
  await page.goto(`${URL}/licenses/STANDARDPACK`);
  await page.getByRole("cell", { name: /Zoe Browser|zoe\.browser@contoso\.test/ }).first().waitFor();
  assertClean();
  await page.close();
});

/** Runs the skuld CLI on the server's database (the server sees the change at once). */
function cli(...args) {
  execFileSync(process.env.SKULD_BIN, ["--db", process.env.SKULD_DB, "--tenant", "contoso.test", ...args], { stdio: "ignore" });
}

test("the what-if preview of a group assignment matches what then happens", async () => {
  // Two seats of a product the demo has not bought, and a group of three.
  cli("subscription", "add", "EXCHANGESTANDARD", "--seats", "2");
  cli("group", "add", "Browser Pilot");
  const upns = ["wi.ada", "wi.ben", "wi.cyd"].map((a) => `${a}@contoso.test`);
  for (const u of upns) cli("user", "add", u, "--name", u.split("@")[0], "--location", "US");
  cli("group", "member", "add", "Browser Pilot", ...upns);
  const page = await newPage();
  page.on("dialog", (d) => d.accept());
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.getByRole("link", { name: "What-if preview" }).click();
  await page.getByLabel("Or the group's name").fill("Browser Pilot");
  await page.getByLabel("Product").selectOption("EXCHANGESTANDARD");
  await page.getByRole("button", { name: "Preview" }).click();
  await page.getByRole("heading", { name: "What would happen" }).waitFor();
  const names = async (cls) => page.locator(`table.${cls} tbody td:nth-child(2)`).allInnerTexts();
  const gets = await names("whatif-gets");
  const waits = await names("whatif-waits");
  assert.equal(gets.length, 2, `gets: ${gets}`);
  assert.equal(waits.length, 1, `waits: ${waits}`);
  assert.match(await page.locator("table.whatif-waits").innerText(), /CountViolation/);
  await page.locator("#preview").scrollIntoViewIfNeeded();
  await shot(page, "whatif-preview");
  // The preview kept nothing: the product has no holders yet.
  const before = await page.request.get(`${URL}/licenses/EXCHANGESTANDARD`, { headers: { Accept: "text/html" } });
  assert.match(await before.text(), /Nobody has this license yet/);
  // Make this change: the real assignment, then the product's Users tab shows the outcome.
  await page.getByRole("button", { name: "Make this change" }).click();
  await page.getByText("The change was made").waitFor();
  const main = page.locator("main");
  for (const u of gets) {
    const row = main.locator("tr", { hasText: u });
    assert.match(await row.innerText(), /Assigned/, `${u} got the license`);
  }
  for (const u of waits) {
    const row = main.locator("tr", { hasText: u });
    assert.match(await row.innerText(), /CountViolation/, `${u} waits`);
  }
  assertClean();
  await page.close();
});

test("a user who must change the password changes it at first sign-in", async () => {
  const upn = "first.signin@contoso.test";
  cli("user", "add", upn, "--name", "First Signin", "--location", "US", "--password", "Temp-Passw0rd!", "--force-change");
  cli("role", "add", upn, "License Administrator");
  const page = await newPage();
  await context.clearCookies();
  await signIn(page, upn, "Temp-Passw0rd!");
  await page.getByRole("heading", { level: 1, name: "Update your password" }).waitFor();
  await shot(page, "change-password");
  await page.getByLabel("Current password").fill("Temp-Passw0rd!");
  await page.getByLabel("New password").fill("Brand-New-Passw0rd!");
  await page.getByLabel("Confirm password").fill("Brand-New-Passw0rd!");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  // The old password no longer works; the new one does.
  await context.clearCookies();
  await signIn(page, upn, "Temp-Passw0rd!");
  await page.getByRole("alert").waitFor();
  await signIn(page, upn, "Brand-New-Passw0rd!");
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  assertClean();
  await page.close();
});

test("assign a product to 20 users at once with an app turned off", async () => {
  cli("subscription", "add", "VISIOCLIENT", "--seats", "25");
  const upns = [];
  for (let i = 0; i < 20; i++) {
    const u = `visio${String(i).padStart(2, "0")}@contoso.test`;
    cli("user", "add", u, "--name", `Visio ${i}`, "--location", "US");
    upns.push(u);
  }
  const page = await newPage();
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.goto(`${URL}/licenses/VISIOCLIENT/assign`);
  // A 21st user is refused with a clear message and nothing is assigned.
  await page.getByLabel("Or user names, one per line").fill([...upns, "x3@contoso.test"].join("\n"));
  await page.getByRole("button", { name: "Assign" }).click();
  await page.getByRole("alert").filter({ hasText: "at most 20 users" }).waitFor();
  await page.getByLabel("Or user names, one per line").fill(upns.join("\n"));
  await page.getByLabel("Visio Desktop App").uncheck();
  await shot(page, "assign-20");
  await page.getByRole("button", { name: "Assign" }).click();
  await page.getByRole("status").filter({ hasText: "got Visio Plan 2" }).waitFor();
  const text = await page.locator("main").innerText();
  for (const u of upns) assert.ok(text.includes(u) || text.includes(u.split("@")[0]), `${u} in the results`);
  // The CLI on the same database agrees: assigned, with the desktop app off.
  for (const u of [upns[0], upns[19]]) {
    const shown = JSON.parse(execFileSync(process.env.SKULD_BIN,
      ["--db", process.env.SKULD_DB, "--tenant", "contoso.test", "--json", "user", "show", u]).toString());
    const visio = shown.licenses.find((l) => l.skuPartNumber === "VISIOCLIENT");
    assert.ok(visio?.held, `${u} holds Visio Plan 2`);
    assert.deepEqual(visio.disabledPlans, ["VISIO_CLIENT_SUBSCRIPTION"], `${u}: the desktop app is off`);
  }
  assertClean();
  await page.close();
});

test("a Billing Administrator takes over a self-service purchase", async () => {
  cli("user", "add", "buyer@contoso.test", "--name", "Self Buyer", "--location", "US");
  cli("subscription", "add", "POWER_BI_PRO", "--seats", "3", "--owner", "buyer@contoso.test");
  cli("user", "add", "billing@contoso.test", "--name", "Bill Ing", "--location", "US", "--password", "Billing-Passw0rd!");
  cli("role", "add", "billing@contoso.test", "Billing Administrator");
  const page = await newPage();
  page.on("dialog", (d) => d.accept());
  await context.clearCookies();
  await signIn(page, "billing@contoso.test", "Billing-Passw0rd!");
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.getByRole("navigation", { name: "Admin center" }).getByRole("link", { name: "Your products" }).click();
  const row = page.locator("tr", { hasText: "Self Buyer" });
  await row.waitFor();
  await shot(page, "your-products");
  await row.getByRole("button", { name: "Take over" }).click();
  await page.getByRole("status").filter({ hasText: "You took over the purchase" }).waitFor();
  assert.equal(await page.locator("tr", { hasText: "Self Buyer" }).count(), 0);
  assertClean();
  await page.close();
});

test("add a user with a license through the wizard, then copy the credentials", async () => {
  cli("subscription", "add", "EXCHANGEENTERPRISE", "--seats", "5");
  const page = await newPage();
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.getByRole("navigation", { name: "Admin center" }).getByRole("link", { name: "Add a user" }).click();
  await page.getByLabel("First name").fill("Wiz");
  await page.getByLabel("Last name").fill("Ard");
  await page.getByLabel("Display name (required)").fill("Wiz Ard");
  await page.getByLabel("Username (required)").fill("wiz.ard");
  await shot(page, "wizard-basics");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByLabel("Select location").selectOption("US");
  await page.getByLabel("Assign user a product license").check();
  await page.getByRole("checkbox", { name: "Exchange Online (Plan 2)", exact: true }).and(page.locator("input[name=sku]")).check();
  await shot(page, "wizard-licenses");
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("button", { name: "Next" }).click();
  await page.getByRole("button", { name: "Finish adding" }).click();
  await page.getByRole("status").filter({ hasText: "Wiz Ard was added" }).waitFor();
  assert.equal((await page.locator("#cred-upn").innerText()).trim(), "wiz.ard@contoso.test");
  const password = (await page.locator("#cred-password").innerText()).trim();
  assert.ok(password.length >= 8, "a password is shown");
  await shot(page, "wizard-done");
  // The user exists with the license, and must change the generated password at first sign-in.
  const shown = JSON.parse(execFileSync(process.env.SKULD_BIN,
    ["--db", process.env.SKULD_DB, "--tenant", "contoso.test", "--json", "user", "show", "wiz.ard@contoso.test"]).toString());
  assert.ok(shown.licenses.find((l) => l.skuPartNumber === "EXCHANGEENTERPRISE")?.held, "licensed");
  await context.clearCookies();
  await signIn(page, "wiz.ard@contoso.test", password);
  await page.getByRole("heading", { level: 1, name: "Update your password" }).waitFor();
  assertClean();
  await page.close();
});

test("a group short of seats shows the error banner, and the waiting member gets a freed seat", async () => {
  cli("subscription", "add", "EXCHANGEDESKLESS", "--seats", "2");
  for (const a of ["kiosk.holder", "kiosk.one", "kiosk.two"]) {
    cli("user", "add", `${a}@contoso.test`, "--name", a, "--location", "US");
  }
  cli("license", "assign", "--user", "kiosk.holder@contoso.test", "EXCHANGEDESKLESS");
  cli("group", "add", "Kiosk Staff");
  cli("group", "member", "add", "Kiosk Staff", "kiosk.one@contoso.test", "kiosk.two@contoso.test");
  const page = await newPage();
  page.on("dialog", (d) => d.accept());
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.getByRole("navigation", { name: "Admin center" }).getByRole("link", { name: "Groups" }).click();
  await page.getByRole("link", { name: "Kiosk Staff" }).click();
  const groupUrl = page.url().split("?")[0];
  await page.goto(`${groupUrl}?tab=licenses`);
  await page.getByRole("radio", { name: "Exchange Online Kiosk" }).check();
  await page.getByRole("button", { name: "Assign", exact: true }).click();
  // The worker applies it in the background: one member gets the last seat, one waits.
  let banner = false;
  for (let i = 0; i < 50 && !banner; i++) {
    await page.goto(`${groupUrl}?tab=licenses`);
    banner = (await page.getByRole("alert").filter({ hasText: "license problem" }).count()) > 0;
    if (!banner) await page.waitForTimeout(200);
  }
  assert.ok(banner, "the Licenses tab shows the error banner");
  assert.match(await page.locator("main").innerText(), /CountViolation|not enough|no license left|seats?/i);
  await shot(page, "group-licenses-error");
  // Free a seat: unassign the direct holder; the waiting member takes it (self-healing).
  await page.goto(`${URL}/licenses/EXCHANGEDESKLESS`);
  await page.locator("tr", { hasText: "kiosk.holder@contoso.test" }).getByRole("checkbox").check();
  await page.getByRole("button", { name: "Unassign licenses" }).click();
  await page.getByRole("status").filter({ hasText: "unassigned" }).waitFor();
  await page.goto(`${groupUrl}?tab=licenses`);
  assert.equal(await page.getByRole("alert").filter({ hasText: "license problem" }).count(), 0, "no error left");
  for (const u of ["kiosk.one@contoso.test", "kiosk.two@contoso.test"]) {
    const shown = JSON.parse(execFileSync(process.env.SKULD_BIN,
      ["--db", process.env.SKULD_DB, "--tenant", "contoso.test", "--json", "user", "show", u]).toString());
    assert.ok(shown.licenses.find((l) => l.skuPartNumber === "EXCHANGEDESKLESS")?.held, `${u} holds it`);
  }
  assertClean();
  await page.close();
});

/** The user as `skuld user show --json` shows it. */
function shown(upn) {
  return JSON.parse(execFileSync(process.env.SKULD_BIN,
    ["--db", process.env.SKULD_DB, "--tenant", "contoso.test", "--json", "user", "show", upn]).toString());
}
const holds = (upn, part) => !!shown(upn).licenses.find((l) => l.skuPartNumber === part && l.held);

test("Replace and Unassign all on selected users keep the inherited license", async () => {
  cli("subscription", "add", "VISIOONLINE_PLAN1", "--seats", "5");
  cli("subscription", "add", "POWERAPPS_PER_USER", "--seats", "5");
  cli("subscription", "add", "PROJECT_P1", "--seats", "5");
  for (const a of ["rep.one", "rep.two"]) {
    cli("user", "add", `${a}@contoso.test`, "--name", `Rep ${a.split(".")[1]}`, "--location", "US");
    cli("license", "assign", "--user", `${a}@contoso.test`, "VISIOONLINE_PLAN1");
  }
  cli("group", "add", "Rep Planners");
  cli("group", "license", "assign", "Rep Planners", "PROJECT_P1");
  cli("group", "member", "add", "Rep Planners", "rep.two@contoso.test");
  const page = await newPage();
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  const pick = async () => {
    await page.goto(`${URL}/users?q=rep`);
    for (const n of ["Rep one", "Rep two"]) await page.getByLabel(`Select ${n}`).check();
    await shot(page, "users");
    await page.getByRole("button", { name: "Manage product licenses" }).click();
    await page.getByRole("heading", { name: /Selected users \(2\)/ }).waitFor();
  };
  // Replace: every direct license goes, Power Apps Premium comes; the inherited Planner stays.
  await pick();
  await page.getByLabel(/^Replace/).check();
  await page.getByRole("checkbox", { name: "Power Apps Premium", exact: true }).check();
  await shot(page, "users-manage");
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "2 user(s) done" }).waitFor();
  assert.match(await page.locator("main").innerText(), /Stays: Planner Plan 1, inherited from group Rep Planners/);
  await shot(page, "users-manage-results");
  for (const u of ["rep.one@contoso.test", "rep.two@contoso.test"]) {
    assert.ok(holds(u, "POWERAPPS_PER_USER"), `${u} got Power Apps Premium`);
    assert.ok(!holds(u, "VISIOONLINE_PLAN1"), `${u} lost Visio Plan 1`);
  }
  // Unassign all: the direct licenses go; the inherited one stays and is named.
  await pick();
  await page.getByLabel(/^Unassign all/).check();
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByRole("status").filter({ hasText: "2 user(s) done" }).waitFor();
  assert.match(await page.locator("main").innerText(), /Rep Planners/);
  assert.ok(!holds("rep.one@contoso.test", "POWERAPPS_PER_USER"));
  assert.ok(!holds("rep.two@contoso.test", "POWERAPPS_PER_USER"));
  assert.ok(holds("rep.two@contoso.test", "PROJECT_P1"), "the inherited license stayed");
  assertClean();
  await page.close();
});

test("delete a user and restore it with its license", async () => {
  cli("user", "add", "del.me@contoso.test", "--name", "Del Me", "--location", "US");
  cli("license", "assign", "--user", "del.me@contoso.test", "VISIOONLINE_PLAN1");
  const id = shown("del.me@contoso.test").id;
  const page = await newPage();
  page.on("dialog", (d) => d.accept());
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.goto(`${URL}/users/${id}`);
  await page.getByRole("heading", { name: "Licenses and apps" }).waitFor();
  await shot(page, "user-details");
  await page.getByRole("button", { name: "Delete user" }).click();
  await page.getByRole("heading", { level: 1, name: "Deleted users" }).waitFor();
  await page.getByRole("status").waitFor();
  const row = page.locator("tr", { hasText: "del.me@contoso.test" });
  await shot(page, "users-deleted");
  await row.getByRole("button", { name: "Restore" }).click();
  await page.getByRole("status").filter({ hasText: "was restored" }).waitFor();
  assert.match(await page.locator("main").innerText(), /Licenses back: .*Visio Plan 1/);
  assert.ok(holds("del.me@contoso.test", "VISIOONLINE_PLAN1"), "the license is back");
  assertClean();
  await page.close();
});

test("sign-out ends the session", async () => {
  const page = await newPage();
  await context.clearCookies();
  await signIn(page);
  await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByText("You signed out").waitFor();
  await page.goto(`${URL}/`);
  assert.match(page.url(), /\/signin/);
  assertClean();
  await page.close();
});
