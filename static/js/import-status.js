// The sticky import status bar on every page.
"use strict";
