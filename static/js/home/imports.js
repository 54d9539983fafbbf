// Home: imports section.
"use strict";
