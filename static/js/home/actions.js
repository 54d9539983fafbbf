// Home: actions section.
"use strict";
