// The translation unit that precompiles cmake/TocsinTargets.cmake's shared headers; it holds nothing.
