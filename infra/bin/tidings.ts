#!/usr/bin/env node
// Entry point of the CDK app (cdk.json runs the compiled dist/bin/tidings.js). See lib/app.ts for the context keys.
import { buildApp } from '../lib/app';

buildApp().app.synth();
