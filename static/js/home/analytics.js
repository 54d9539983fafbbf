// Home: analytics section.
"use strict";
