// Validates Dashboard Studio definitions with Splunk's own code, the way DashboardCore does
// (@splunk/dashboard-core: withValidationSchema + Validator), then checks what that validator
// lets through: references to data sources that do not exist, and option names the
// component's own options schema does not know (Splunk's schema allows unknown keys).
//
//   node validate.js definitions.json results.json
// definitions.json: {"<dashboard>": <definition>, ...}; results.json gets
//   {"<dashboard>": {"splunk": [<validator error>...], "references": ["<message>"...]}, "_versions": {...}}
'use strict';
require('./node_shim');
const fs = require('fs');

const EnterprisePreset = require('@splunk/dashboard-presets/EnterprisePreset').default;
const { createSchemaBasedOnPresets } = require('@splunk/dashboard-definition');
const { migrateToTabsLayout } = require('@splunk/dashboard-utils');
const { DashboardValidator } = require('@splunk/dashboard-validation');

// Drilldowns that Splunk Enterprise's dashboard app registers itself: they are documented
// Dashboard Studio handler types but not part of the npm preset.
const ENTERPRISE_APP_HANDLERS = new Set(['drilldown.linkToSearch', 'drilldown.linkToDashboard', 'drilldown.linkToReport']);

function optionsSchemaOf(component) {
  return (component && component.config && component.config.optionsSchema) || (component && component.schema) || null;
}

// Option names an options schema declares. A schema "extended beyond a list of properties"
// (dashboard-definition's combineSchema) keeps them under extend.{properties, anyOf, oneOf, allOf}.
function optionNames(schema) {
  const names = new Set();
  for (const [key, value] of Object.entries(schema || {})) {
    if (key === 'extend' && value && typeof value === 'object') {
      const parts = [value, ...(value.anyOf || []), ...(value.oneOf || []), ...(value.allOf || [])];
      parts.forEach((part) => Object.keys((part && part.properties) || {}).forEach((name) => names.add(name)));
    } else {
      names.add(key);
    }
  }
  return names;
}

function knownOptions(kind, type) {
  const component = (EnterprisePreset[kind] || {})[type];
  if (!component) return null;
  const names = optionNames(optionsSchemaOf(component));
  // A chain names the search it extends in options.extend; the data source's config says
  // whether it can chain (isChainEnabled), its options schema does not list the key.
  if (kind === 'dataSources' && component.config && component.config.isChainEnabled) names.add('extend');
  return names;
}

function referenceErrors(definition) {
  const errors = [];
  const dataSources = definition.dataSources || {};
  const checkOptions = (kind, where, type, options) => {
    const known = knownOptions(kind, type);
    if (!known) {
      errors.push(`${where}: type ${JSON.stringify(type)} is not a ${kind} type of the Enterprise preset`);
      return;
    }
    for (const name of Object.keys(options || {})) {
      if (!known.has(name)) errors.push(`${where}: option ${JSON.stringify(name)} is not an option of ${type}`);
    }
  };
  const checkRefs = (where, refs) => {
    for (const [role, id] of Object.entries(refs || {})) {
      if (!(id in dataSources)) errors.push(`${where}: dataSources.${role} names ${JSON.stringify(id)}, which is not a data source`);
    }
  };
  const checkHandlers = (where, handlers) => {
    (handlers || []).forEach((handler, index) => {
      const type = handler && handler.type;
      if (!(type in (EnterprisePreset.eventHandlers || {})) && !ENTERPRISE_APP_HANDLERS.has(type)) {
        errors.push(`${where}.eventHandlers[${index}]: unknown event handler type ${JSON.stringify(type)}`);
      }
    });
  };
  for (const [id, viz] of Object.entries(definition.visualizations || {})) {
    const where = `visualizations.${id}`;
    checkOptions('visualizations', where, viz.type, viz.options);
    checkRefs(where, viz.dataSources);
    checkHandlers(where, viz.eventHandlers);
  }
  for (const [id, input] of Object.entries(definition.inputs || {})) {
    const where = `inputs.${id}`;
    checkOptions('inputs', where, input.type, input.options);
    checkRefs(where, input.dataSources);
    checkHandlers(where, input.eventHandlers);
  }
  for (const [id, ds] of Object.entries(dataSources)) {
    const where = `dataSources.${id}`;
    checkOptions('dataSources', where, ds.type, ds.options);
    const extend = ds.options && ds.options.extend;
    if (extend !== undefined) {
      const base = dataSources[extend];
      const config = (EnterprisePreset.dataSources[ds.type] || {}).config || {};
      if (!base) {
        errors.push(`${where}: extends ${JSON.stringify(extend)}, which is not a data source`);
      } else if (Array.isArray(config.extendableByDataSourceTypes) && !config.extendableByDataSourceTypes.includes(base.type)) {
        errors.push(`${where}: a ${ds.type} cannot extend a ${base.type}`);
      }
    }
  }
  const defaults = definition.defaults || {};
  for (const [type, spec] of Object.entries(defaults.dataSources || {})) {
    if (type === 'global') continue;
    checkOptions('dataSources', `defaults.dataSources.${type}`, type, (spec || {}).options);
  }
  for (const [type, spec] of Object.entries(defaults.visualizations || {})) {
    if (type === 'global') continue;
    checkOptions('visualizations', `defaults.visualizations.${type}`, type, (spec || {}).options);
  }
  return errors;
}

function splunkErrors(schema, definition) {
  const migration = migrateToTabsLayout({ definition });
  if (!migration.success) return [{ instancePath: '/layout', message: `layout migration failed: ${migration.reason}` }];
  const validator = new DashboardValidator();
  const schemaError = validator.setSchema(schema);
  if (schemaError) return [{ instancePath: '', message: `schema did not compile: ${schemaError}` }];
  return validator.validate(migration.definition, []) || [];
}

function main([input, output]) {
  const definitions = JSON.parse(fs.readFileSync(input, 'utf8'));
  const schema = createSchemaBasedOnPresets(EnterprisePreset);
  const results = {};
  for (const [name, definition] of Object.entries(definitions)) {
    results[name] = { splunk: splunkErrors(schema, definition), references: referenceErrors(definition) };
  }
  const version = (pkg) => require(`${pkg}/package.json`).version;
  results._versions = Object.fromEntries(
    ['@splunk/dashboard-validation', '@splunk/dashboard-presets', '@splunk/dashboard-definition', '@splunk/dashboard-utils']
      .map((pkg) => [pkg, version(pkg)]));
  fs.writeFileSync(output, JSON.stringify(results, null, 2));
}

module.exports = { optionNames, referenceErrors };

if (require.main === module) {
  main(process.argv.slice(2));
  // Preset modules leave timers behind (jsdom window); nothing else is left to do.
  process.exit(0);
}
