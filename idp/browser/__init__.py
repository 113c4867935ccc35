"""The parent's pages and the staff console in a real browser (headless Chromium through
Selenium): the browser, a server for it, the pages' labels, the parent and the staff member
who use them. Shared by the browser tests
(tests/browser/) and the generated parent handbook (idp.handbook). Selenium is a test extra:
nothing outside these two imports this package."""
