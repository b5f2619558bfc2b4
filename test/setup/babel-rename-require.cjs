// Some NestJS 12 ESM files declare a top-level `const require = createRequire(...)`.
// Compiled to CommonJS for jest, that clashes with the module wrapper's own `require`.
module.exports = function renameTopLevelRequire() {
  return {
    name: 'rename-top-level-require',
    visitor: {
      Program(path) {
        if (path.scope.hasOwnBinding('require')) path.scope.rename('require', '__esmRequire');
      },
    },
  };
};
