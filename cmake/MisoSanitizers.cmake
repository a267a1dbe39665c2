# ASan + UBSan for the sanitizer build of `make test`; UBSan findings abort.
if(MISO_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(MISO_SANITIZED=1)
endif()
