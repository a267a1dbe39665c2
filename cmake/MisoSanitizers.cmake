# ASan + UBSan for the sanitizer build of `make test`; UBSan findings abort.
if(MISO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(MISO_SANITIZED=1)
endif()

# ThreadSanitizer build (`make tsan`): for the lock-free scheduler's tests.
option(MISO_TSAN "Build with ThreadSanitizer" OFF)
if(MISO_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(MISO_SANITIZED=1 MISO_TSAN=1)
endif()
